package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Verb is the API call a plan makes for one object.
type Verb string

// Verbs of plan calls.
const (
	VerbCreate Verb = "create"
	VerbUpdate Verb = "update"
	VerbDelete Verb = "delete"
)

// ObjectRef names one object: its resource as in the API path, such as
// "namespaces" or "secrets", its namespace (empty for cluster-scoped
// objects) and its name.
type ObjectRef struct {
	Resource  string
	Namespace string
	Name      string
}

// String returns "namespaces/ml-churn" for a cluster-scoped object and
// "secrets/db in namespace ml-churn" for a namespaced one.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Resource + "/" + r.Name
	}
	return r.Resource + "/" + r.Name + " in namespace " + r.Namespace
}

// Call is one API call of a plan.
type Call struct {
	Verb Verb
	ObjectRef
	// Object is the object the call sends for create and update, and the
	// object as read for delete. A Secret in a plan never contains values:
	// its Data contains the key names with nil values.
	Object runtime.Object
	// InPlace is true when the object was already in the wanted state when
	// the plan was made. Apply still checks it again but makes no call for it
	// unless it has changed back.
	InPlace bool
	// Note is the reason a call is in place, such as "already present with
	// label sopbot.dev/request=R-12".
	Note string

	// shape is set on the create call of a generated Secret: Apply fills
	// every key of Object with a value of this shape.
	shape *Shape
	// repoint is set on the update call of Repoint.
	repoint *repointArgs
}

// Plan is the list of calls an action would make, in order, for one
// request. Making a plan only reads the cluster.
type Plan struct {
	Request string
	Calls   []Call
}

// Pending returns the calls that Apply would make, leaving out those that
// are in place.
func (p *Plan) Pending() []Call {
	var pending []Call
	for _, call := range p.Calls {
		if !call.InPlace {
			pending = append(pending, call)
		}
	}
	return pending
}

// String prints each call as a header line, such as
// "create namespaces/ml-churn", followed by the object as YAML. A call in
// place gets a comment line instead. Secret values are never printed: a
// Secret's data shows each key as "<generated, N bytes>" when Apply will
// generate it and as "<redacted>" otherwise.
func (p *Plan) String() string {
	if len(p.Calls) == 0 {
		return fmt.Sprintf("# request %s: no calls\n", p.Request)
	}
	var b strings.Builder
	for i, call := range p.Calls {
		if i > 0 {
			b.WriteString("\n")
		}
		if call.InPlace {
			fmt.Fprintf(&b, "# %s %s: no call, %s\n", call.Verb, call.ObjectRef, call.Note)
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", call.Verb, call.ObjectRef)
		body, err := printableYAML(call)
		if err != nil {
			fmt.Fprintf(&b, "# object not printable: %v\n", err)
			continue
		}
		b.Write(body)
	}
	return b.String()
}

// printableYAML renders the object of call as YAML without status, managed
// fields or Secret values.
func printableYAML(call Call) ([]byte, error) {
	if call.Object == nil {
		return nil, nil
	}
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(call.Object)
	if err != nil {
		return nil, err
	}
	delete(fields, "status")
	if meta, ok := fields["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
		if meta["creationTimestamp"] == nil {
			delete(meta, "creationTimestamp")
		}
	}

	if secret, ok := call.Object.(*corev1.Secret); ok {
		delete(fields, "stringData")
		placeholder := "<redacted>"
		if call.shape != nil {
			placeholder = fmt.Sprintf("<generated, %d bytes>", call.shape.Length)
		}
		data := map[string]any{}
		for _, key := range secretKeyNames(secret) {
			data[key] = placeholder
		}
		if len(data) > 0 {
			fields["data"] = data
		} else {
			delete(fields, "data")
		}
	}
	return yaml.Marshal(fields)
}

// Outcome is the result of Apply for one call.
type Outcome struct {
	Verb Verb
	ObjectRef
	// Changed is true when Apply made the call, and false when the object
	// was already in the wanted state: present with this request's label,
	// already repointed or already deleted.
	Changed bool
	// Details lists what an update changed or found, such as the Secret
	// references that Repoint rewrote.
	Details []string
}

// String returns, for example, "created namespaces/ml-churn" or
// "namespaces/ml-churn already present".
func (o Outcome) String() string {
	if o.Changed {
		return fmt.Sprintf("%sd %s", o.Verb, o.ObjectRef)
	}
	switch o.Verb {
	case VerbCreate:
		return fmt.Sprintf("%s already present", o.ObjectRef)
	case VerbDelete:
		return fmt.Sprintf("%s already deleted", o.ObjectRef)
	}
	return fmt.Sprintf("%s already up to date", o.ObjectRef)
}

// Apply makes the calls of plan in order. Before each call it reads the
// object again, so a plan applied twice, or after another process applied
// part of it, makes each change once. It stops at the first error and
// returns the outcomes of the calls before it.
func (c *Client) Apply(ctx context.Context, plan *Plan) ([]Outcome, error) {
	if err := validateRequest(plan.Request); err != nil {
		return nil, err
	}
	outcomes := make([]Outcome, 0, len(plan.Calls))
	for _, call := range plan.Calls {
		outcome, err := c.applyCall(ctx, plan.Request, call)
		if err != nil {
			return outcomes, err
		}
		outcomes = append(outcomes, outcome)
	}
	return outcomes, nil
}

func (c *Client) applyCall(ctx context.Context, request string, call Call) (Outcome, error) {
	switch {
	case call.Verb == VerbCreate:
		return c.applyCreate(ctx, request, call)
	case call.Verb == VerbUpdate && call.repoint != nil:
		return c.applyRepoint(ctx, request, call)
	case call.Verb == VerbDelete && call.Resource == resourceSecrets:
		return c.applyDeleteSecret(ctx, request, call)
	}
	return Outcome{}, permanentf("cannot apply %s %s: the package makes no such call", call.Verb, call.ObjectRef)
}

// planCreate returns the create call for obj, in place when the object
// already exists with this request's label. An object of the same name
// without that label is a permanent error.
func (c *Client) planCreate(ctx context.Context, request string, obj runtime.Object) (Call, error) {
	call := Call{Verb: VerbCreate, ObjectRef: refOf(obj), Object: withTypeMeta(obj)}
	existing, err := c.get(ctx, call.ObjectRef)
	switch {
	case err == nil:
		if err := checkOwner(call.ObjectRef, existing, request); err != nil {
			return Call{}, err
		}
		call.InPlace = true
		call.Note = fmt.Sprintf("already present with label %s=%s", LabelRequest, request)
		return call, nil
	case apierrors.IsNotFound(err):
		return call, nil
	}
	return Call{}, fmt.Errorf("reading %s: %w", call.ObjectRef, err)
}

// applyCreate creates the object of call unless it exists with this
// request's label.
func (c *Client) applyCreate(ctx context.Context, request string, call Call) (Outcome, error) {
	outcome := Outcome{Verb: VerbCreate, ObjectRef: call.ObjectRef}
	existing, err := c.get(ctx, call.ObjectRef)
	switch {
	case err == nil:
		return outcome, checkOwner(call.ObjectRef, existing, request)
	case !apierrors.IsNotFound(err):
		return outcome, fmt.Errorf("reading %s: %w", call.ObjectRef, err)
	}

	obj := call.Object.DeepCopyObject()
	if call.shape != nil {
		secret, ok := obj.(*corev1.Secret)
		if !ok {
			return outcome, permanentf("cannot generate values for %s: it is a %T, not a Secret", call.ObjectRef, obj)
		}
		if err := fillSecret(secret, *call.shape); err != nil {
			return outcome, err
		}
	}

	err = c.create(ctx, obj)
	if call.Resource == resourceSecrets && err != nil {
		err = &quietError{action: "creating " + call.ObjectRef.String(), err: err}
	}
	switch {
	case err == nil:
		outcome.Changed = true
		return outcome, nil
	case apierrors.IsAlreadyExists(err):
		// Another run created it between the read and the create.
		existing, err := c.get(ctx, call.ObjectRef)
		if err != nil {
			return outcome, fmt.Errorf("reading %s after a create conflict: %w", call.ObjectRef, err)
		}
		return outcome, checkOwner(call.ObjectRef, existing, request)
	case call.Resource == resourceSecrets:
		return outcome, err
	}
	return outcome, fmt.Errorf("creating %s: %w", call.ObjectRef, err)
}

// secretKeyNames returns the sorted keys of a Secret's data and string data.
func secretKeyNames(secret *corev1.Secret) []string {
	seen := map[string]bool{}
	for key := range secret.Data {
		seen[key] = true
	}
	for key := range secret.StringData {
		seen[key] = true
	}
	keys := make([]string, 0, len(seen))
	for key := range seen {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}
