//! Every NATS subject, generated here and nowhere else.
//!
//! All subjects start with a configurable prefix (default `tether`) so several stacks can
//! share one NATS server (tests run one stack per process). User ids enter subjects only
//! as parsed [`Uuid`]s, so nothing a client sends becomes a subject token.

use uuid::Uuid;

use crate::events::SessionEventKind;
use crate::messages::Owner;
use crate::model::Role;

/// Subject names under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// Subjects under `prefix` (letters, digits, `-`, `_` only).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<p>.cmd.<service>.<type>`: a client command for its owning service.
    pub fn command(&self, owner: Owner, type_name: &str) -> String {
        format!("{}.cmd.{}.{}", self.prefix, owner.service_name(), type_name)
    }

    /// `<p>.cmd.<service>.>`: what a service subscribes to.
    pub fn commands_of(&self, owner: Owner) -> String {
        format!("{}.cmd.{}.>", self.prefix, owner.service_name())
    }

    /// `<p>.api.<service>`: HTTP API requests for a service.
    pub fn api(&self, owner: Owner) -> String {
        format!("{}.api.{}", self.prefix, owner.service_name())
    }

    /// `<p>.out.<role>.<user_id>`: everything a user's sockets of that role should get.
    pub fn outbound(&self, role: Role, user_id: Uuid) -> String {
        format!("{}.out.{}.{}", self.prefix, role.as_str(), user_id)
    }

    /// `<p>.out.>`: every user's outbound subject (an edge's one subscription).
    pub fn outbound_all(&self) -> String {
        format!("{}.out.>", self.prefix)
    }

    /// The role and user of an outbound subject; `None` for anything else.
    pub fn parse_outbound(&self, subject: &str) -> Option<(Role, Uuid)> {
        let rest = subject
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(".out.")?;
        let (role, user_id) = rest.split_once('.')?;
        Some((Role::parse(role)?, Uuid::try_parse(user_id).ok()?))
    }

    /// `<p>.evt.edge.connected`: a socket opened.
    pub fn connected(&self) -> String {
        format!("{}.evt.edge.connected", self.prefix)
    }

    /// `<p>.evt.edge.closed`: a socket closed (fan-out to every instance).
    pub fn closed(&self) -> String {
        format!("{}.evt.edge.closed", self.prefix)
    }

    /// `<p>.evt.edge.presence`: an edge's first socket of a (user, role) opened or its last
    /// one closed.
    pub fn presence(&self) -> String {
        format!("{}.evt.edge.presence", self.prefix)
    }

    /// `<p>.evt.edge.beat`: an edge is alive.
    pub fn edge_beat(&self) -> String {
        format!("{}.evt.edge.beat", self.prefix)
    }

    /// `<p>.evt.session.<kind>`: session lifecycle.
    pub fn session_event(&self, kind: SessionEventKind) -> String {
        format!("{}.evt.session.{}", self.prefix, kind.as_str())
    }

    /// `<p>.evt.session.>`: every session lifecycle event.
    pub fn session_events(&self) -> String {
        format!("{}.evt.session.>", self.prefix)
    }

    /// `<p>.ops.cleanup.<job>`: run a cleanup job now (request/reply).
    pub fn cleanup_trigger(&self, job: &str) -> String {
        format!("{}.ops.cleanup.{}", self.prefix, job)
    }

    /// `<p>.ops.cleanup.>`: every cleanup trigger.
    pub fn cleanup_triggers(&self) -> String {
        format!("{}.ops.cleanup.>", self.prefix)
    }

    /// `<p>.ops.location.tick`: run one distance tick now (request/reply).
    pub fn location_tick(&self) -> String {
        format!("{}.ops.location.tick", self.prefix)
    }
}

/// Whether a prefix is safe as subject tokens.
pub fn is_valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.split('.').all(|token| {
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_shapes() {
        let s = Subjects::new("tether");
        assert_eq!(
            s.command(Owner::Chat, "chat_message"),
            "tether.cmd.chat.chat_message"
        );
        assert_eq!(
            s.outbound(Role::Seeker, Uuid::nil()),
            "tether.out.seeker.00000000-0000-0000-0000-000000000000"
        );
        let id = Uuid::new_v4();
        assert_eq!(
            s.parse_outbound(&s.outbound(Role::Provider, id)),
            Some((Role::Provider, id))
        );
        assert_eq!(s.parse_outbound("tether.out.admin.x"), None);
        assert_eq!(
            s.parse_outbound(&Subjects::new("other").outbound(Role::Seeker, id)),
            None
        );
        assert_eq!(
            s.session_event(SessionEventKind::Completed),
            "tether.evt.session.completed"
        );
        assert!(is_valid_prefix("tether"));
        assert!(is_valid_prefix("t.test-1"));
        assert!(!is_valid_prefix("a.*"));
        assert!(!is_valid_prefix(""));
    }
}
