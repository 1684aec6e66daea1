// Package bot is sopbot's engine: it turns events (a command typed in Slack
// or a GitHub comment, a checklist edited, a pull request reviewed, an
// effect finished) into state changes of SOP requests.
//
// Engine.Handle decides in the caller's SQLite transaction: the new state,
// the audit rows and the effects to run. It makes no network calls, so a
// table of events tests it fully. Effects are River jobs inserted in that
// same transaction; Workers run them against GitHub, Slack and MLflow and
// feed their results back as events.
//
// Authorization follows the SOP's role lines and its binding: a section's
// ticks come from the role members its rule names ("A and B" needs a tick
// from each, by different people), the approval step is signed by each
// approver role member, and the requester never signs off their own
// request except in sections the binding gives to the requester.
package bot
