//! The learning curves as an SVG (`plotters`).

use plotters::prelude::*;

/// Draws each method's train NLL per epoch, with its test NLL after the
/// last epoch as a dashed horizontal reference, into `path`.
pub fn learning_curves(
    path: &std::path::Path,
    series: &[(&str, &[f64], f64)],
    k: usize,
) -> Result<(), String> {
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let epochs = series.iter().map(|(_, c, _)| c.len()).max().unwrap_or(0);
    // At least two epochs wide, so one epoch has room.
    let width = epochs.max(2) as f64;
    let values = series
        .iter()
        .flat_map(|(_, c, t)| c.iter().copied().chain(std::iter::once(*t)));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("UCI digits, quad-graph CP circuit, K = {k}"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1.0..width, (lo * 0.98)..(hi * 1.02))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(epochs.clamp(2, 11))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("epoch")
        .y_desc("negative log-likelihood (nats per image)")
        .draw()
        .map_err(|e| e.to_string())?;
    let colors = [BLUE, RED, GREEN, MAGENTA];
    for (n, (name, curve, test)) in series.iter().enumerate() {
        let color = colors[n % colors.len()];
        let points = curve.iter().enumerate().map(|(e, v)| ((e + 1) as f64, *v));
        chart
            .draw_series(LineSeries::new(points.clone(), color))
            .map_err(|e| e.to_string())?
            .label(format!("{name}: train (mean over the epoch's batches)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        // Points too, so that a curve of one epoch shows.
        chart
            .draw_series(points.map(|p| Circle::new(p, 2, color.filled())))
            .map_err(|e| e.to_string())?;
        let dashes = (0..40).map(|i| {
            let x = 1.0 + (width - 1.0) * f64::from(i) / 40.0;
            PathElement::new(vec![(x, *test), (x + (width - 1.0) / 80.0, *test)], color)
        });
        chart
            .draw_series(dashes)
            .map_err(|e| e.to_string())?
            .label(format!("{name}: test, after the last epoch"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 6, y), (x + 10, y), (x + 16, y)], color)
            });
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
