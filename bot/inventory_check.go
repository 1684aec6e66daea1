package bot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// maxInventoryNames is the maximum number of names an inventory error lists.
const maxInventoryNames = 10

// checkInventory returns a UsageError when the binding names an inventory
// and that inventory lacks what the validated params describe. A request
// of such a binding thus acts only on what the inventory lists.
func (e *Engine) checkInventory(t *txn, s *sop.SOP, params map[string]string) error {
	switch s.Binding.Inventory {
	case "":
		return nil
	case sop.InventorySecrets:
		return e.checkSecretInventory(t, s, params)
	}
	return fmt.Errorf("%s names inventory %q, which the bot does not have", s.ID, s.Binding.Inventory)
}

func (e *Engine) checkSecretInventory(t *txn, s *sop.SOP, params map[string]string) error {
	name, namespace := params["secret"], params["namespace"]
	secret, err := e.DB.GetSecret(t.ctx, t.tx, namespace, name)
	if errors.Is(err, store.ErrNotFound) {
		all, err := e.DB.Secrets(t.ctx, t.tx)
		if err != nil {
			return err
		}
		return &UsageError{Problem: secretNotListed(name, namespace, all)}
	}
	if err != nil {
		return err
	}
	deployment, declared := params["deployment"]
	if !declared || secret.Deployment == "" || secret.Deployment == deployment {
		return nil
	}
	return &UsageError{Problem: fmt.Sprintf(
		"The secret inventory lists %s of namespace %s for deployment %s, not %s; use %s, or correct the entry under rotation.secrets in the sopbot config.",
		quoteInput(name, 63), quoteInput(namespace, 63), quoteInput(secret.Deployment, 63), quoteInput(deployment, 63),
		quoteInput(argumentFor(s, "deployment")+" "+secret.Deployment, 80))}
}

// secretNotListed explains that namespace/name is not in the secret
// inventory and lists what the inventory has in that namespace, or where
// else it lists the name.
func secretNotListed(name, namespace string, all []store.Secret) string {
	var sameNamespace, elsewhere []string
	for _, row := range all {
		switch {
		case row.Namespace == namespace:
			sameNamespace = append(sameNamespace, quoteInput(row.Name, 63))
		case row.Name == name:
			elsewhere = append(elsewhere, quoteInput(row.Namespace, 63))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s is not in the secret inventory of namespace %s", quoteInput(name, 63), quoteInput(namespace, 63))
	switch {
	case len(sameNamespace) > maxInventoryNames:
		fmt.Fprintf(&b, ", which lists %s and %d more", strings.Join(sameNamespace[:maxInventoryNames], ", "), len(sameNamespace)-maxInventoryNames)
	case len(sameNamespace) > 0:
		fmt.Fprintf(&b, ", which lists %s", strings.Join(sameNamespace, ", "))
	default:
		b.WriteString(", which lists no secret")
	}
	if len(elsewhere) > 0 {
		fmt.Fprintf(&b, "; it lists %s in namespace %s", quoteInput(name, 63), strings.Join(elsewhere, ", "))
	}
	fmt.Fprintf(&b, ". `%s %s` lists the inventory; to rotate %s, add it under rotation.secrets in the sopbot config.", Prefix, VerbSecrets, quoteInput(name, 63))
	return b.String()
}

// argumentFor returns how the binding's command line sets a parameter:
// its flag, such as "--deployment", or "<param>" for a positional one.
func argumentFor(s *sop.SOP, param string) string {
	for _, f := range s.Binding.Usage.Flags {
		if f.Param == param {
			return "--" + f.Name
		}
	}
	return "<" + param + ">"
}
