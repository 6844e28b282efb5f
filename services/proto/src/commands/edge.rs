//! The command ws-edge answers itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Command, Endpoints};
use crate::messages::Owner;

/// Keep-alive; answered with `pong`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ping {}

impl Command for Ping {
    const TYPE: &'static str = "ping";
    const OWNER: Owner = Owner::Edge;
    const ENDPOINTS: Endpoints = Endpoints::Both;
}
