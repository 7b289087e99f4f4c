//! Operations that act on a whole deployment rather than on one request: backups (create,
//! list, verify, restore, prune), the pre-deployment checklist (`docent check`), the gauges
//! sampled at each `/metrics` scrape, and the file-system facts they use (free space of the
//! data directory, the newest backup).

pub mod backup;
pub mod check;
pub mod disk;
pub mod gauges;
pub mod recent_backup;
