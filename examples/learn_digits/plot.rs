//! The learning curve as an SVG (`plotters`).

use plotters::prelude::*;

/// Draws the train NLL per epoch, and the test NLL at the end as a
/// horizontal reference, into `path`.
pub fn learning_curve(
    path: &std::path::Path,
    train_nll: &[f64],
    test_nll: f64,
    k: usize,
) -> Result<(), String> {
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // At least two epochs wide, so one epoch has room.
    let epochs = train_nll.len().max(2) as f64;
    let lo = train_nll.iter().copied().fold(test_nll, f64::min);
    let hi = train_nll.iter().copied().fold(test_nll, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("UCI digits, quad-graph CP circuit, K = {k}"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1.0..epochs, (lo * 0.98)..(hi * 1.02))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(train_nll.len().clamp(2, 11))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("epoch")
        .y_desc("negative log-likelihood (nats per image)")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            train_nll
                .iter()
                .enumerate()
                .map(|(e, v)| ((e + 1) as f64, *v)),
            &BLUE,
        ))
        .map_err(|e| e.to_string())?
        .label("train (mean over the epoch's batches)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    // Points too, so that a curve of one epoch shows.
    chart
        .draw_series(
            train_nll
                .iter()
                .enumerate()
                .map(|(e, v)| Circle::new(((e + 1) as f64, *v), 2, BLUE.filled())),
        )
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            vec![(1.0, test_nll), (epochs, test_nll)],
            &RED,
        ))
        .map_err(|e| e.to_string())?
        .label("test, after the last epoch")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
