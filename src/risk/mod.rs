//! Portfolio risk analytics (issue 3). Pure functions; only the background task is async.
