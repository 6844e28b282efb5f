//! `tether-location`: see the crate docs. Settings: `tether-location --help`.

tether_platform::service_main!(
    tether_location,
    admin_addr,
    "location service started",
    service.common
);
