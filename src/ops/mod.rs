//! Operations commands that act on a whole deployment rather than on one request: backups
//! (create, list, verify, restore, prune).

pub mod backup;
