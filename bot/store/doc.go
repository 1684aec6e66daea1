// Package store is sopbot's SQLite database: deliveries, requests, their
// checklist items and sign-offs, linked pull requests and the audit trail.
//
// The database runs in WAL mode over one connection, which River's SQLite
// driver needs and which matches SQLite's single writer. Migrations are
// goose files embedded from migrations/; River's own tables are migrated by
// rivermigrate. The audit table is append-only (triggers abort UPDATE and
// DELETE) and hash-chained, so VerifyAudit finds the first altered or
// removed row.
package store
