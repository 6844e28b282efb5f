//! The database boundary: the domain's enums are stored as text (their wire names) and
//! read back as the enums themselves, so a row struct says `role: Role`, never
//! `role: String` re-parsed by hand, and a value the enum does not know is a decode error
//! at the one place it is read.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};
use sqlx::{Decode, Encode, Type};

use crate::approach::ArrivalStage;
use crate::cadence::CadenceBand;
use crate::model::{ConnectionState, DeliveryStatus, Role, WorkOrderStatus};
use crate::timeline::{ActorRole, TimelineEventType};

/// Implements text encoding and decoding for enums with `as_str` and `parse`.
macro_rules! text_enum {
    ($($name:ty),+ $(,)?) => {$(
        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as Decode<Postgres>>::decode(value)?;
                <$name>::parse(text).ok_or_else(|| {
                    format!("{text:?} is not a {}", stringify!($name)).into()
                })
            }
        }

        impl Encode<'_, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode(self.as_str(), buf)
            }
        }
    )+};
}

text_enum!(
    Role,
    ConnectionState,
    WorkOrderStatus,
    DeliveryStatus,
    ActorRole,
    TimelineEventType,
    ArrivalStage,
    CadenceBand,
);
