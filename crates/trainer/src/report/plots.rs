//! SVG plots for the evaluation report, drawn with plotters' SVG backend (text is left to the SVG
//! viewer, so no fonts are needed): loss curves, score histograms by label with the threshold, and
//! precision-recall curves of every scorer on one chart.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use super::history::StageHistory;

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Render into a string with `draw`, then write it to `path`.
fn write_svg(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        draw(root.clone())?;
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    std::fs::write(path, svg).with_context(|| format!("{}: cannot write the plot", path.display()))
}

fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot: {e}")
}

/// `(lo, hi)` with a margin, never empty.
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9 + lo.abs() * 1e-3);
    (lo - pad, hi + pad)
}

/// One panel per training stage: train and validation loss per epoch.
pub fn loss_curves(path: &Path, stages: &[StageHistory]) -> anyhow::Result<()> {
    let rows = stages.len().max(1);
    write_svg(path, (800, 280 * rows as u32), |root| {
        for (panel, stage) in root.split_evenly((rows, 1)).iter().zip(stages) {
            let epochs = stage.train.len().max(stage.val.len()).max(2);
            let vals = stage.val.iter().flatten().copied();
            let (lo, hi) = padded_range(stage.train.iter().copied().chain(vals));
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("stage: {}", stage.name), ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(65)
                .build_cartesian_2d(1f64..epochs as f64, lo..hi)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc("loss")
                .draw()
                .map_err(plot_err)?;
            let train = stage
                .train
                .iter()
                .enumerate()
                .map(|(i, v)| ((i + 1) as f64, *v));
            chart
                .draw_series(LineSeries::new(train, COLORS[0].stroke_width(2)))
                .map_err(plot_err)?
                .label("train")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], COLORS[0]));
            let val: Vec<(f64, f64)> = stage
                .val
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| ((i + 1) as f64, v)))
                .collect();
            if !val.is_empty() {
                chart
                    .draw_series(LineSeries::new(val, COLORS[1].stroke_width(2)))
                    .map_err(plot_err)?
                    .label("validation")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], COLORS[1]));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

/// Histogram of one scorer's scores, normal and anomalous windows each normalised to their own
/// count (so the rare class stays visible), with the threshold as a vertical line. Strictly
/// positive scores spanning more than two decades are shown on a log10 axis.
pub fn score_histogram(
    path: &Path,
    title: &str,
    scores: &[f32],
    labels: &[bool],
    threshold: Option<f32>,
) -> anyhow::Result<()> {
    let positive = scores.iter().all(|s| *s > 0.0);
    let (min, max) = scores
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), s| {
            (lo.min(*s), hi.max(*s))
        });
    let log = positive && min > 0.0 && max / min > 100.0;
    let tr = |v: f32| {
        if log {
            f64::from(v).log10()
        } else {
            f64::from(v)
        }
    };
    let values: Vec<f64> = scores.iter().map(|s| tr(*s)).collect();
    let thr = threshold.map(tr).filter(|t| t.is_finite());
    let (lo, hi) = padded_range(values.iter().copied().chain(thr));
    const BINS: usize = 40;
    let width = (hi - lo) / BINS as f64;
    let mut density = [[0f64; BINS]; 2];
    let totals = [
        labels.iter().filter(|l| !**l).count(),
        labels.iter().filter(|l| **l).count(),
    ];
    for (v, l) in values.iter().zip(labels) {
        if v.is_finite() {
            let bin = (((v - lo) / width) as usize).min(BINS - 1);
            density[usize::from(*l)][bin] += 1.0 / totals[usize::from(*l)] as f64;
        }
    }
    let top = density
        .iter()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.1;
    let x_desc = if log { "log10(score)" } else { "score" };
    write_svg(path, (800, 450), |root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0f64..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("fraction of class")
            .draw()
            .map_err(plot_err)?;
        for (class, name) in [(0usize, "normal"), (1, "anomalous")] {
            let color = COLORS[class];
            let bars = density[class]
                .iter()
                .enumerate()
                .filter(|(_, d)| **d > 0.0)
                .map(|(b, d)| {
                    let x0 = lo + b as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, *d)], color.mix(0.45).filled())
                });
            chart
                .draw_series(bars)
                .map_err(plot_err)?
                .label(format!("{name} (n = {})", totals[class]))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled())
                });
        }
        if let Some(t) = thr {
            chart
                .draw_series(LineSeries::new([(t, 0.0), (t, top)], BLACK.stroke_width(2)))
                .map_err(plot_err)?
                .label("threshold")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        Ok(())
    })
}

/// Precision-recall curves `(name, [(recall, precision)])` on one chart, with the chance level
/// (prevalence) as a dashed-grey line.
pub fn pr_curves(
    path: &Path,
    curves: &[(String, Vec<(f64, f64)>)],
    prevalence: f64,
) -> anyhow::Result<()> {
    write_svg(path, (800, 550), |root| {
        let mut chart = ChartBuilder::on(&root)
            .caption("Precision-recall curves", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("recall")
            .y_desc("precision")
            .draw()
            .map_err(plot_err)?;
        for (i, (name, points)) in curves.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        if prevalence.is_finite() {
            let grey = COLORS[7];
            chart
                .draw_series(LineSeries::new(
                    [(0.0, prevalence), (1.0, prevalence)],
                    grey,
                ))
                .map_err(plot_err)?
                .label(format!("chance ({prevalence:.3})"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_svg_files() {
        let dir = tempfile::tempdir().unwrap();
        let stages = vec![StageHistory {
            name: "sequence".into(),
            train: vec![1.0, 0.5, 0.3],
            val: vec![Some(1.2), None, Some(0.4)],
            context_variance: Vec::new(),
        }];
        let loss = dir.path().join("loss.svg");
        loss_curves(&loss, &stages).unwrap();
        let hist = dir.path().join("hist.svg");
        let scores = [0.01, 0.02, 0.5, 3.0, 0.015];
        score_histogram(
            &hist,
            "latent",
            &scores,
            &[false, false, true, true, false],
            Some(0.1),
        )
        .unwrap();
        let pr = dir.path().join("pr.svg");
        let curve = vec![(
            "latent".to_string(),
            vec![(0.0, 1.0), (0.5, 1.0), (1.0, 0.4)],
        )];
        pr_curves(&pr, &curve, 0.4).unwrap();
        for path in [loss, hist, pr] {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.starts_with("<svg"), "{}", path.display());
            assert!(text.trim_end().ends_with("</svg>"));
        }
    }
}
