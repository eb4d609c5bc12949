//! Roles, permissions and visibility scopes.
//!
//! A role is a named set of grants; each grant pairs a [`Permission`] with a
//! [`Scope`] that says which records it reaches (the holder's own, their team
//! subtree's, or all). Built-in roles come with the defaults below; a role an
//! administrator creates starts with no grants at all.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Something a route or an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    /// See the dashboard (工作台).
    DashboardView,
    /// Create, edit and deactivate staff accounts, teams and roles.
    UsersManage,
    /// Edit the company profile, business hours and the holiday calendar.
    SettingsManage,
    /// Browse the audit trail (scoped by the actor's team).
    AuditView,
    /// Browse other people's login history (scoped by their team).
    LoginsView,
    /// See customers and their 360° page (scoped by owner and team).
    CustomersRead,
    /// Create and edit customers, record interactions (scoped).
    CustomersWrite,
    /// Export customer lists (scoped; every export is audited).
    CustomersExport,
    /// Move customers to another owner (scoped by the current owner).
    CustomersReassign,
    /// Merge duplicate customers (scoped).
    CustomersMerge,
    /// See ID card and passport numbers in full (scoped; every reveal is audited).
    CustomersPii,
    /// Handle personal-data requests: full export, erasure (scoped).
    CustomersPrivacy,
    /// Define custom fields and required fields of customers.
    CustomersConfigure,
    /// See the resource library, suppliers, products and departures.
    CatalogRead,
    /// Edit the resource library, suppliers, products and departures.
    CatalogWrite,
    /// See opportunities, quotes and orders (within the scope).
    SalesRead,
    /// Create and change opportunities, quotes and orders, book seats.
    SalesWrite,
    /// See receivables, receipts, balances, aging and statements.
    FinanceRead,
    /// Record receipts and refunds (the finance role).
    FinanceWrite,
    /// See value grades, evaluation results, value alerts and the call list
    /// (scoped by the customer's owner and team).
    ValueRead,
    /// Run evaluations and pin a customer's grade with a reason (managers).
    ValueManage,
}

impl Permission {
    /// Every permission, in the order the role editor shows them.
    pub const ALL: [Permission; 21] = [
        Permission::DashboardView,
        Permission::UsersManage,
        Permission::SettingsManage,
        Permission::AuditView,
        Permission::LoginsView,
        Permission::CustomersRead,
        Permission::CustomersWrite,
        Permission::CustomersExport,
        Permission::CustomersReassign,
        Permission::CustomersMerge,
        Permission::CustomersPii,
        Permission::CustomersPrivacy,
        Permission::CustomersConfigure,
        Permission::CatalogRead,
        Permission::CatalogWrite,
        Permission::SalesRead,
        Permission::SalesWrite,
        Permission::FinanceRead,
        Permission::FinanceWrite,
        Permission::ValueRead,
        Permission::ValueManage,
    ];

    /// The stable code stored in the database and named in the API document.
    pub fn code(self) -> &'static str {
        match self {
            Permission::DashboardView => "dashboard.view",
            Permission::UsersManage => "users.manage",
            Permission::SettingsManage => "settings.manage",
            Permission::AuditView => "audit.view",
            Permission::LoginsView => "logins.view",
            Permission::CustomersRead => "customers.read",
            Permission::CustomersWrite => "customers.write",
            Permission::CustomersExport => "customers.export",
            Permission::CustomersReassign => "customers.reassign",
            Permission::CustomersMerge => "customers.merge",
            Permission::CustomersPii => "customers.pii",
            Permission::CustomersPrivacy => "customers.privacy",
            Permission::CustomersConfigure => "customers.configure",
            Permission::CatalogRead => "catalog.read",
            Permission::CatalogWrite => "catalog.write",
            Permission::SalesRead => "sales.read",
            Permission::SalesWrite => "sales.write",
            Permission::FinanceRead => "finance.read",
            Permission::FinanceWrite => "finance.write",
            Permission::ValueRead => "value.read",
            Permission::ValueManage => "value.manage",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.code() == code)
    }

    /// Whether the grant's scope matters (own / team / all), or the
    /// permission is simply held or not.
    pub fn is_scoped(self) -> bool {
        !matches!(
            self,
            Permission::DashboardView
                | Permission::UsersManage
                | Permission::SettingsManage
                | Permission::CustomersConfigure
                | Permission::CatalogRead
                | Permission::CatalogWrite
                | Permission::ValueManage
        )
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Which records a grant reaches. Ordered: `Own < Team < All`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Records the holder owns or made.
    Own,
    /// Records of anyone in the holder's team and the teams below it.
    Team,
    /// Every record.
    All,
}

impl Scope {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Team => "team",
            Scope::All => "all",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Scope> {
        match code {
            "own" => Some(Scope::Own),
            "team" => Some(Scope::Team),
            "all" => Some(Scope::All),
            _ => None,
        }
    }
}

/// What one role may do: permission → scope. Absent means not granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(pub BTreeMap<Permission, Scope>);

impl Grants {
    /// The scope granted for `p`, if any.
    pub fn scope(&self, p: Permission) -> Option<Scope> {
        self.0.get(&p).copied()
    }

    /// Whether `p` is granted at any scope.
    pub fn has(&self, p: Permission) -> bool {
        self.0.contains_key(&p)
    }
}

/// The roles every installation starts with (DESIGN.md §1).
pub const BUILTIN_ROLES: [&str; 7] = ["admin", "manager", "sales", "operator", "service", "finance", "front_desk"];

/// The Chinese and English names of a built-in role.
pub fn builtin_role_names(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "admin" => ("系统管理员", "Administrator"),
        "manager" => ("经理", "Manager"),
        "sales" => ("销售顾问", "Sales consultant"),
        "operator" => ("计调", "Tour operator"),
        "service" => ("客服", "Customer service"),
        "finance" => ("财务", "Finance"),
        "front_desk" => ("前台", "Front desk"),
        _ => return None,
    })
}

/// The grants a built-in role starts with. Unknown codes get nothing, which is
/// what a role made by an administrator starts with too.
pub fn default_grants(role_code: &str) -> Grants {
    use Permission::*;
    // Keep in step with the grants migration 0002 gives existing installations
    // (a store test compares them).
    let list: &[(Permission, Scope)] = match role_code {
        "admin" => &[
            (DashboardView, Scope::All),
            (UsersManage, Scope::All),
            (SettingsManage, Scope::All),
            (AuditView, Scope::All),
            (LoginsView, Scope::All),
            (CustomersRead, Scope::All),
            (CustomersWrite, Scope::All),
            (CustomersExport, Scope::All),
            (CustomersReassign, Scope::All),
            (CustomersMerge, Scope::All),
            (CustomersPii, Scope::All),
            (CustomersPrivacy, Scope::All),
            (CustomersConfigure, Scope::All),
            (CatalogRead, Scope::All),
            (CatalogWrite, Scope::All),
            (SalesRead, Scope::All),
            (SalesWrite, Scope::All),
            (FinanceRead, Scope::All),
            (FinanceWrite, Scope::All),
            (ValueRead, Scope::All),
            (ValueManage, Scope::All),
        ],
        "manager" => &[
            (DashboardView, Scope::All),
            (AuditView, Scope::Team),
            (LoginsView, Scope::Team),
            (CustomersRead, Scope::Team),
            (CustomersWrite, Scope::Team),
            (CustomersExport, Scope::Team),
            (CustomersReassign, Scope::Team),
            (CustomersMerge, Scope::Team),
            (CustomersPii, Scope::Team),
            (CatalogRead, Scope::All),
            (CatalogWrite, Scope::All),
            (SalesRead, Scope::Team),
            (SalesWrite, Scope::Team),
            (FinanceRead, Scope::Team),
            (ValueRead, Scope::Team),
            (ValueManage, Scope::All),
        ],
        // Salespeople work their own customers.
        "sales" => &[
            (DashboardView, Scope::All),
            (CustomersRead, Scope::Own),
            (CustomersWrite, Scope::Own),
            (CustomersPii, Scope::Own),
            (CatalogRead, Scope::All),
            (SalesRead, Scope::Own),
            (SalesWrite, Scope::Own),
            (FinanceRead, Scope::Own),
            (ValueRead, Scope::Own),
        ],
        // Operators need every traveller's documents for manifests, and run
        // the catalogue and departures.
        "operator" => &[
            (DashboardView, Scope::All),
            (CustomersRead, Scope::All),
            (CustomersPii, Scope::All),
            (CatalogRead, Scope::All),
            (CatalogWrite, Scope::All),
            (SalesRead, Scope::All),
        ],
        // Service answers whoever calls and records what was said.
        "service" => &[
            (DashboardView, Scope::All),
            (CustomersRead, Scope::All),
            (CustomersWrite, Scope::All),
            (CatalogRead, Scope::All),
            (SalesRead, Scope::All),
        ],
        // Finance records money; it sees every order it is owed for.
        "finance" => &[
            (DashboardView, Scope::All),
            (CustomersRead, Scope::All),
            (CatalogRead, Scope::All),
            (SalesRead, Scope::All),
            (FinanceRead, Scope::All),
            (FinanceWrite, Scope::All),
        ],
        // The front desk registers guests' documents at check-in and books
        // their stays.
        "front_desk" => &[
            (DashboardView, Scope::All),
            (CustomersRead, Scope::All),
            (CustomersWrite, Scope::All),
            (CustomersPii, Scope::All),
            (CatalogRead, Scope::All),
            (SalesRead, Scope::All),
            (SalesWrite, Scope::All),
        ],
        _ => &[],
    };
    Grants(list.iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::from_code(p.code()), Some(p));
        }
        for s in [Scope::Own, Scope::Team, Scope::All] {
            assert_eq!(Scope::from_code(s.code()), Some(s));
        }
        assert_eq!(Permission::from_code("customers.delete_everything"), None);
    }

    #[test]
    fn a_new_role_starts_with_nothing() {
        assert!(default_grants("night_auditor").0.is_empty());
    }

    #[test]
    fn only_admin_manages_users_and_settings() {
        for role in BUILTIN_ROLES {
            let g = default_grants(role);
            assert_eq!(g.has(Permission::UsersManage), role == "admin", "{role}");
            assert_eq!(g.has(Permission::SettingsManage), role == "admin", "{role}");
            assert!(g.has(Permission::DashboardView), "{role}");
        }
        assert_eq!(default_grants("manager").scope(Permission::AuditView), Some(Scope::Team));
    }

    #[test]
    fn only_finance_and_admin_record_money() {
        for role in BUILTIN_ROLES {
            assert_eq!(
                default_grants(role).has(Permission::FinanceWrite),
                matches!(role, "finance" | "admin"),
                "{role}"
            );
        }
        assert_eq!(default_grants("sales").scope(Permission::SalesWrite), Some(Scope::Own));
    }

    #[test]
    fn scopes_are_ordered() {
        assert!(Scope::Own < Scope::Team && Scope::Team < Scope::All);
    }
}
