package kube

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Alphabets of Shape.
const (
	AlphabetHex       = "hex"
	AlphabetBase64URL = "base64url"
	AlphabetAlnum     = "alnum"
)

// MaxValueLength is the largest Shape.Length. It keeps a Secret with many
// keys far below the API server's limit of 1 MiB for a Secret.
const MaxValueLength = 4096

var alphabets = map[string]string{
	AlphabetHex:       "0123456789abcdef",
	AlphabetBase64URL: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	AlphabetAlnum:     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
}

// Shape describes the generated value of each key of a Secret.
type Shape struct {
	// Length is the number of characters, from 1 to MaxValueLength. Each
	// character is one byte.
	Length int
	// Alphabet is AlphabetHex, AlphabetBase64URL (A-Z, a-z, 0-9, '-' and
	// '_') or AlphabetAlnum (A-Z, a-z, 0-9).
	Alphabet string
}

func (s Shape) validate() error {
	if _, ok := alphabets[s.Alphabet]; !ok {
		return permanentf("secret shape: alphabet %q is not one of %s, %s, %s", s.Alphabet, AlphabetHex, AlphabetBase64URL, AlphabetAlnum)
	}
	if s.Length < 1 || s.Length > MaxValueLength {
		return permanentf("secret shape: length %d is outside 1 to %d", s.Length, MaxValueLength)
	}
	return nil
}

// randomValue returns length characters drawn uniformly from alphabet with
// crypto/rand. Bytes at or above the largest multiple of the alphabet's size
// are discarded, so no character is more likely than another.
func randomValue(length int, alphabet string) ([]byte, error) {
	size := len(alphabet)
	limit := 256 - 256%size
	value := make([]byte, 0, length)
	buf := make([]byte, length)
	for len(value) < length {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("reading random bytes: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			value = append(value, alphabet[int(b)%size])
			if len(value) == length {
				break
			}
		}
	}
	return value, nil
}

// fillSecret sets every key of secret's data to a new random value.
func fillSecret(secret *corev1.Secret, shape Shape) error {
	if err := shape.validate(); err != nil {
		return err
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	for _, key := range secretKeyNames(secret) {
		value, err := randomValue(shape.Length, alphabets[shape.Alphabet])
		if err != nil {
			return err
		}
		secret.Data[key] = value
	}
	secret.StringData = nil
	return nil
}

// NewSecretName returns <base>-<request lowercased>, the name of the Secret
// that replaces base in a rotation. Characters a Secret name cannot contain
// become '-', and base is cut so that the name has at most 253 characters
// and stays a valid DNS-1123 subdomain.
func NewSecretName(base, request string) string {
	suffix := "-" + dnsName(request, 63, false)
	if suffix == "-" {
		suffix = ""
	}
	max := 253 - len(suffix)
	base = dnsName(base, max, true)

	// Each dot-separated part of a subdomain must start and end with a
	// letter or digit.
	var parts []string
	for part := range strings.SplitSeq(base, ".") {
		if part = strings.Trim(part, "-"); part != "" {
			parts = append(parts, part)
		}
	}
	base = strings.Join(parts, ".")
	if base == "" {
		return strings.TrimPrefix(suffix, "-")
	}
	return base + suffix
}

// SecretKeys returns the sorted key names of a Secret, never its values.
func (c *Client) SecretKeys(ctx context.Context, namespace, name string) ([]string, error) {
	secret, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, &quietError{action: "reading " + secretRef(namespace, name).String(), err: err}
	}
	return secretKeyNames(secret), nil
}

// CompareKeys returns nil when old and new contain the same key names, and
// otherwise an error that names the keys missing from new and the extra keys
// in new.
func CompareKeys(old, new []string) error {
	inOld := map[string]bool{}
	for _, key := range old {
		inOld[key] = true
	}
	inNew := map[string]bool{}
	for _, key := range new {
		inNew[key] = true
	}
	var missing, extra []string
	for key := range inOld {
		if !inNew[key] {
			missing = append(missing, key)
		}
	}
	for key := range inNew {
		if !inOld[key] {
			extra = append(extra, key)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return nil
	}
	sort.Strings(missing)
	sort.Strings(extra)

	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "missing keys "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		problems = append(problems, "extra keys "+strings.Join(extra, ", "))
	}
	return permanentf("secret keys differ: %s", strings.Join(problems, "; "))
}

// generatableTypes lists the Secret types in the kubernetes.io namespace
// whose values may be random. Other built-in types need structured values,
// such as a certificate or a docker config, so random ones would break their
// users. Types outside kubernetes.io are accepted.
var generatableTypes = map[corev1.SecretType]bool{
	corev1.SecretTypeOpaque:    true,
	corev1.SecretTypeBasicAuth: true,
}

// PlanGenerateSecret returns the call that creates the Secret newName with
// the same keys and type as from. The plan contains no values: Apply
// generates them. A Secret newName with the request's label is in place, as
// is, whatever its keys.
func (c *Client) PlanGenerateSecret(ctx context.Context, namespace, newName string, from *corev1.Secret, shape Shape, request string) (*Plan, error) {
	if err := validateRequest(request); err != nil {
		return nil, err
	}
	if err := shape.validate(); err != nil {
		return nil, err
	}
	if from == nil {
		return nil, permanentf("no source secret given for %s", secretRef(namespace, newName))
	}
	if problems := content.IsDNS1123Subdomain(newName); len(problems) > 0 {
		return nil, permanentf("secret name %q is not valid: %s", newName, strings.Join(problems, "; "))
	}
	if newName == from.Name {
		return nil, permanentf("new secret name %q is the name of the source secret", newName)
	}
	kind := from.Type
	if kind == "" {
		kind = corev1.SecretTypeOpaque
	}
	if strings.HasPrefix(string(kind), "kubernetes.io/") && !generatableTypes[kind] || kind == corev1.SecretTypeBootstrapToken {
		return nil, permanentf("secret %s has type %s, whose values must have a structure; only %s, %s and types outside kubernetes.io get random values", from.Name, kind, corev1.SecretTypeOpaque, corev1.SecretTypeBasicAuth)
	}
	keys := secretKeyNames(from)
	if len(keys) == 0 {
		return nil, permanentf("secret %s has no keys to generate", from.Name)
	}

	data := make(map[string][]byte, len(keys))
	for _, key := range keys {
		data[key] = nil
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        newName,
			Namespace:   namespace,
			Labels:      requestLabels(request),
			Annotations: map[string]string{AnnotationRotatedFrom: from.Name},
		},
		Type: kind,
		Data: data,
	}
	call, err := c.planCreate(ctx, request, secret)
	if err != nil {
		return nil, err
	}
	call.shape = &shape
	return &Plan{Request: request, Calls: []Call{call}}, nil
}

// GenerateSecret creates the Secret newName with the keys and type of from
// and a random value of the given shape for each key. A Secret newName that
// exists with the request's label is accepted as it is. It returns the new
// Secret's key names, never a value.
func (c *Client) GenerateSecret(ctx context.Context, namespace, newName string, from *corev1.Secret, shape Shape, request string) ([]string, error) {
	plan, err := c.PlanGenerateSecret(ctx, namespace, newName, from, shape, request)
	if err != nil {
		return nil, err
	}
	if _, err := c.Apply(ctx, plan); err != nil {
		return nil, err
	}
	return c.SecretKeys(ctx, namespace, newName)
}

func secretRef(namespace, name string) ObjectRef {
	return ObjectRef{Resource: resourceSecrets, Namespace: namespace, Name: name}
}
