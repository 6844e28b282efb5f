//! `tether-session`: see the crate docs. Settings: `tether-session --help`.

tether_platform::service_main!(
    tether_session,
    admin_addr,
    "session service started",
    service.common
);
