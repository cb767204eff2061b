//! The UCI optical digits (`data/uci_digits.csv.gz`): 1797 images of 8×8
//! pixel counts in `0..=16`, row-major, then the class label (unused).
//! E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits",
//! UCI Machine Learning Repository, CC BY 4.0 (the test set as shipped
//! inside scikit-learn). Split: row `i % 5 == 0` is test (360 images), the
//! rest train (1437).

use std::io::Read;

/// Pixels per image.
pub const PIXELS: usize = 64;

/// One image: its 64 pixel values, row-major.
pub type Image = [u8; PIXELS];

/// The train and test images.
pub struct Digits {
    /// 1437 images.
    pub train: Vec<Image>,
    /// 360 images.
    pub test: Vec<Image>,
}

/// Reads the gzipped CSV at `path` and splits it.
pub fn load(path: &std::path::Path) -> Result<Digits, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != PIXELS + 1 {
            return Err(format!("row {i}: {} fields, expected 65", fields.len()));
        }
        let mut image = [0u8; PIXELS];
        for (p, field) in image.iter_mut().zip(&fields) {
            *p = field
                .trim()
                .parse()
                .map_err(|e| format!("row {i}: pixel `{field}`: {e}"))?;
        }
        if i % 5 == 0 {
            test.push(image);
        } else {
            train.push(image);
        }
    }
    Ok(Digits { train, test })
}
