// Package leader runs work only while this process holds a Kubernetes
// Lease, so that one replica of several writes to the bot's SQLite
// database. It wraps client-go's tools/leaderelection with a LeaseLock and
// releases the Lease on shutdown, after the work has stopped, so a standby
// takes over without waiting for the Lease to expire.
package leader
