//! `tether-chat`: see the crate docs. Settings: `tether-chat --help`.

tether_platform::service_main!(
    tether_chat,
    admin_addr,
    "chat service started",
    service.common
);
