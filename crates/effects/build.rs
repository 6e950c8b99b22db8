include!("../../build/test-cfg.rs");
