// Package deploy holds sopbot's Kubernetes manifests, listed in
// kustomization.yaml. It has no code; its test decodes every manifest and
// checks the settings the bot relies on.
package deploy
