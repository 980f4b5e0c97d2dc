//! Minimal inputs the fuzz targets found that are not fixed yet, each a test that states
//! what should hold, ignored until the fix lands (the fixed ones are unit tests next to the
//! code they pin: `diag`, `store`, `store::edit`, `config`, `writes::import`).
