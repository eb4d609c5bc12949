//! The one visibility rule: which records a person may see in an area.
//!
//! Resolved once per request from the person's grant for the area, then
//! applied inside each query (never by filtering results afterwards), so that
//! lists, search, exports and the API always agree.

use crate::sql::Sql;
use crate::{teams, Result, Store};
use domain::access::Scope;
use domain::ids::{TeamId, UserId};

/// What one person may see in one area.
#[derive(Debug, Clone)]
pub struct Visibility {
    /// The reach of their grant.
    pub scope: Scope,
    /// Who they are.
    pub user_id: UserId,
    /// With [`Scope::Team`]: their team and every team below it, plus the
    /// teams they manage and everything below those.
    pub teams: Vec<TeamId>,
}

impl Visibility {
    /// Resolves the team subtree for a `Team` scope.
    pub async fn resolve(store: &Store, user_id: UserId, team_id: Option<TeamId>, scope: Scope) -> Result<Visibility> {
        let teams = match scope {
            Scope::Team => teams::reach_of(store, user_id, team_id).await?,
            Scope::Own | Scope::All => Vec::new(),
        };
        Ok(Visibility { scope, user_id, teams })
    }

    /// Appends ` AND (…)` restricting rows to what is visible, given the
    /// columns holding each row's owner (user id) and team.
    pub fn restrict(&self, sql: &mut Sql, owner_col: &str, team_col: &str) {
        match self.scope {
            Scope::All => {}
            Scope::Own => {
                sql.push(&format!(" AND {owner_col} = ")).bind(self.user_id.0);
            }
            Scope::Team => {
                sql.push(&format!(" AND ({owner_col} = ")).bind(self.user_id.0);
                sql.push(&format!(" OR {team_col} IN ")).bind_list(self.teams.iter().map(|t| t.0));
                sql.push(")");
            }
        }
    }
}
