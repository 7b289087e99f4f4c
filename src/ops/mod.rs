//! Operations: the pre-deployment checklist (`docent check`), the gauges sampled at each
//! `/metrics` scrape, and the file-system facts both use (free space of the data directory,
//! the newest backup).

pub mod check;
pub mod disk;
pub mod gauges;
pub mod recent_backup;
