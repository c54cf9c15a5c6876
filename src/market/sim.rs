//! Paper market simulator (being written).
