//! `tether-cleanup`: see the crate docs. Settings: `tether-cleanup --help`.

tether_platform::service_main!(
    tether_cleanup,
    admin_addr,
    "cleanup service started",
    service.common
);
