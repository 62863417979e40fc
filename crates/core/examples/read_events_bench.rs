//! How long reading and binning a large events file takes (no assertions: a measurement).
//!
//! `cargo run -p telltale-core --example read_events_bench -- [sensors] [rows_per_sensor]`
//! writes a seed-format file of that size (default 1,000 × 3,000 rows over 10 days, sensors
//! interleaved in time order) to a temporary directory, then reads and bins it.

use std::fmt::Write as _;
use std::time::Instant;

use telltale_core::WindowSpec;
use telltale_core::events::{ReadOptions, read_events_csv};
use telltale_core::window::bin_events;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let sensors: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let per_sensor: usize = args.next().map_or(Ok(3000), |a| a.parse())?;

    let dir = std::env::temp_dir().join(format!("telltale-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("events.csv");
    let started = Instant::now();
    let mut text = String::from("sensor_id,timestamp,feature_1,feature_2,10_days_alert_label\n");
    let spacing_ms = 10 * 24 * 3600 * 1000 / per_sensor as i64;
    let base = chrono::DateTime::parse_from_rfc3339("2020-12-20T00:00:00Z")?.to_utc();
    for i in 0..per_sensor {
        let ts = base + chrono::Duration::milliseconds(i as i64 * spacing_ms);
        let ts = ts.format("%Y-%m-%d %H:%M:%S%.3f");
        for s in 0..sensors {
            let v = ((i * 31 + s * 17) % 1000) as f32 / 1000.0;
            writeln!(
                text,
                "sensor-{s},{ts},{v},{},{}",
                1.0 - v,
                u8::from(s % 20 == 0)
            )?;
        }
    }
    std::fs::write(&path, &text)?;
    let rows = sensors * per_sensor;
    println!(
        "wrote {rows} rows ({} MB) in {:.2?}",
        text.len() / 1_000_000,
        started.elapsed()
    );

    let started = Instant::now();
    let file = read_events_csv(&path, &ReadOptions::default())?;
    let read = started.elapsed();
    println!(
        "read {} windows, {} rows in {read:.2?}",
        file.windows.len(),
        file.report.rows
    );

    let started = Instant::now();
    let spec = WindowSpec::default();
    let mut steps = 0;
    for window in &file.windows {
        steps += bin_events(&window.events, file.feature_names.len(), &spec, None)?.len;
    }
    println!(
        "binned {} windows ({steps} steps) in {:.2?}",
        file.windows.len(),
        started.elapsed()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
