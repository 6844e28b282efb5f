//! `tether-ws-edge`: see the crate docs. Settings: `tether-ws-edge --help`.

tether_platform::service_main!(tether_ws_edge, http_addr, "ws-edge listening", common);
