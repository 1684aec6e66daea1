package kube

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Values of the old Secret. No test output may contain them.
var oldValues = map[string][]byte{
	"AWS_ACCESS_KEY_ID":     []byte("AKIAOLDVALUE0000"),
	"AWS_SECRET_ACCESS_KEY": []byte("old-secret-value-do-not-print"),
}

func oldSecret() *corev1.Secret {
	data := map[string][]byte{}
	for k, v := range oldValues {
		data[k] = append([]byte(nil), v...)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "aws-creds", Namespace: "ml-churn", UID: "old-uid"},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
}

// assertNoSecretValue fails when text contains a value of the old Secret
// or of secret.
func assertNoSecretValue(t *testing.T, text string, secret *corev1.Secret) {
	t.Helper()
	for key, value := range oldValues {
		assert.NotContains(t, text, string(value), "old value of %s", key)
	}
	if secret == nil {
		return
	}
	for key, value := range secret.Data {
		assert.NotContains(t, text, string(value), "value of %s", key)
	}
}

var hexShape = Shape{Length: 32, Alphabet: AlphabetHex}

func TestNewSecretName(t *testing.T) {
	cases := []struct {
		base, request, want string
	}{
		{"aws-creds", "R-12", "aws-creds-r-12"},
		{"db.password", "R_7.b", "db.password-r-7-b"},
		{"Mixed_Case", "R-1", "mixed-case-r-1"},
		{"", "R-1", "r-1"},
		{"creds", "", "creds"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			got := NewSecretName(tc.base, tc.request)

			assert.Equal(t, tc.want, got)
			assert.Empty(t, content.IsDNS1123Subdomain(got))
		})
	}
}

func TestNewSecretNameTrimsLongBase(t *testing.T) {
	bases := []string{
		strings.Repeat("a", 300),
		strings.Repeat("ab.", 100),
		strings.Repeat("a", 245) + "-.-b.c",
	}
	for _, base := range bases {
		got := NewSecretName(base, "R-12")

		assert.LessOrEqual(t, len(got), 253)
		assert.True(t, strings.HasSuffix(got, "-r-12"), got)
		assert.Empty(t, content.IsDNS1123Subdomain(got), got)
	}
}

func TestCompareKeys(t *testing.T) {
	assert.NoError(t, CompareKeys([]string{"a", "b"}, []string{"b", "a"}))

	err := CompareKeys([]string{"a", "b", "c"}, []string{"c", "d"})
	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Equal(t, "secret keys differ: missing keys a, b; extra keys d", err.Error())

	err = CompareKeys([]string{"a"}, nil)
	require.Error(t, err)
	assert.Equal(t, "secret keys differ: missing keys a", err.Error())

	err = CompareKeys(nil, []string{"z"})
	require.Error(t, err)
	assert.Equal(t, "secret keys differ: extra keys z", err.Error())
}

func TestSecretKeys(t *testing.T) {
	client, _ := newFake(oldSecret())

	keys, err := client.SecretKeys(context.Background(), "ml-churn", "aws-creds")
	require.NoError(t, err)
	assert.Equal(t, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, keys)

	_, err = client.SecretKeys(context.Background(), "ml-churn", "missing")
	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "reading secrets/missing in namespace ml-churn: NotFound (HTTP 404")
}

func TestGenerateSecretCreatesRandomValues(t *testing.T) {
	for alphabet, chars := range alphabets {
		t.Run(alphabet, func(t *testing.T) {
			ctx := context.Background()
			from := oldSecret()
			client, kube := newFake(from)

			keys, err := client.GenerateSecret(ctx, "ml-churn", "aws-creds-r-12", from, Shape{Length: 40, Alphabet: alphabet}, testRequest)
			require.NoError(t, err)
			assert.Equal(t, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, keys)

			created, err := kube.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds-r-12", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, corev1.SecretTypeOpaque, created.Type)
			assert.Equal(t, requestLabels(testRequest), created.Labels)
			assert.Equal(t, "aws-creds", created.Annotations[AnnotationRotatedFrom])
			require.Len(t, created.Data, 2)
			for key, value := range created.Data {
				assert.Len(t, value, 40, key)
				for _, c := range string(value) {
					assert.Contains(t, chars, string(c), key)
				}
				assert.NotEqual(t, oldValues[key], value, key)
			}
			assert.NotEqual(t, created.Data["AWS_ACCESS_KEY_ID"], created.Data["AWS_SECRET_ACCESS_KEY"])
		})
	}
}

func TestRandomValueUsesWholeAlphabet(t *testing.T) {
	value, err := randomValue(4096, alphabets[AlphabetAlnum])
	require.NoError(t, err)

	seen := map[byte]bool{}
	for _, b := range value {
		seen[b] = true
	}
	// With 4096 draws from 62 characters, a missing character has a
	// probability below 1e-27.
	assert.Len(t, seen, 62)
}

func TestGenerateSecretCopiesType(t *testing.T) {
	ctx := context.Background()
	from := oldSecret()
	from.Type = corev1.SecretTypeBasicAuth
	from.Data = map[string][]byte{"username": []byte("u"), "password": []byte("p")}
	client, kube := newFake(from)

	_, err := client.GenerateSecret(ctx, "ml-churn", "aws-creds-r-12", from, hexShape, testRequest)
	require.NoError(t, err)

	created, err := kube.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds-r-12", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.SecretTypeBasicAuth, created.Type)
}

func TestGenerateSecretRetryKeepsValues(t *testing.T) {
	ctx := context.Background()
	from := oldSecret()
	client, kube := newFake(from)
	_, err := client.GenerateSecret(ctx, "ml-churn", "aws-creds-r-12", from, hexShape, testRequest)
	require.NoError(t, err)
	first, err := kube.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds-r-12", metav1.GetOptions{})
	require.NoError(t, err)
	kube.ClearActions()

	keys, err := client.GenerateSecret(ctx, "ml-churn", "aws-creds-r-12", from, hexShape, testRequest)
	require.NoError(t, err)

	assert.Equal(t, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, keys)
	assert.Empty(t, writes(kube))
	second, err := kube.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds-r-12", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, first.Data, second.Data)
}

func TestGenerateSecretRejectsForeignSecret(t *testing.T) {
	from := oldSecret()
	existing := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "aws-creds-r-12", Namespace: "ml-churn", Labels: requestLabels("R-11")},
		Data:       map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("someone-elses-value")},
	}
	client, kube := newFake(from, existing)

	_, err := client.GenerateSecret(context.Background(), "ml-churn", "aws-creds-r-12", from, hexShape, testRequest)

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), `secrets/aws-creds-r-12 in namespace ml-churn already exists and has label sopbot.dev/request="R-11"`)
	assert.NotContains(t, err.Error(), "someone-elses-value")
	assertNoSecretValue(t, err.Error(), nil)
	assert.Empty(t, writes(kube))
}

func TestGenerateSecretRejectsInvalidInput(t *testing.T) {
	tls := oldSecret()
	tls.Type = corev1.SecretTypeTLS
	docker := oldSecret()
	docker.Type = corev1.SecretTypeDockerConfigJson
	empty := oldSecret()
	empty.Data = nil

	cases := []struct {
		name    string
		newName string
		from    *corev1.Secret
		shape   Shape
		want    string
	}{
		{"unknown alphabet", "n", oldSecret(), Shape{Length: 8, Alphabet: "emoji"}, `alphabet "emoji" is not one of`},
		{"zero length", "n", oldSecret(), Shape{Alphabet: AlphabetHex}, "length 0 is outside 1 to 4096"},
		{"too long", "n", oldSecret(), Shape{Length: MaxValueLength + 1, Alphabet: AlphabetHex}, "length 4097"},
		{"no source", "n", nil, hexShape, "no source secret given"},
		{"bad name", "New_Name", oldSecret(), hexShape, `secret name "New_Name" is not valid`},
		{"same name", "aws-creds", oldSecret(), hexShape, "is the name of the source secret"},
		{"tls type", "n", tls, hexShape, "has type kubernetes.io/tls"},
		{"docker type", "n", docker, hexShape, "has type kubernetes.io/dockerconfigjson"},
		{"no keys", "n", empty, hexShape, "has no keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, kube := newFake()

			_, err := client.GenerateSecret(context.Background(), "ml-churn", tc.newName, tc.from, tc.shape, testRequest)

			require.Error(t, err)
			assert.True(t, IsPermanent(err))
			assert.Contains(t, err.Error(), tc.want)
			assertNoSecretValue(t, err.Error(), nil)
			assert.Empty(t, kube.Actions())
		})
	}
}

func TestPlanGenerateSecretIsDryRunWithoutValues(t *testing.T) {
	from := oldSecret()
	client, kube := newFake(from)

	plan, err := client.PlanGenerateSecret(context.Background(), "ml-churn", "aws-creds-r-12", from, hexShape, testRequest)
	require.NoError(t, err)

	requireReadOnly(t, kube)
	out := plan.String()
	assert.True(t, strings.HasPrefix(out, "create secrets/aws-creds-r-12 in namespace ml-churn\napiVersion: v1\n"), out)
	assert.Contains(t, out, "kind: Secret\n")
	assert.Contains(t, out, "data:\n  AWS_ACCESS_KEY_ID: <generated, 32 bytes>\n  AWS_SECRET_ACCESS_KEY: <generated, 32 bytes>\n")
	assert.Contains(t, out, "type: Opaque\n")
	assertNoSecretValue(t, out, nil)

	secret := plan.Calls[0].Object.(*corev1.Secret)
	for key, value := range secret.Data {
		assert.Nil(t, value, key)
	}
}

func TestApplyGeneratesFreshValuesPerPlan(t *testing.T) {
	ctx := context.Background()
	from := oldSecret()
	client, kube := newFake(from)
	plan, err := client.PlanGenerateSecret(ctx, "ml-churn", "aws-creds-r-12", from, hexShape, testRequest)
	require.NoError(t, err)

	outcomes, err := client.Apply(ctx, plan)
	require.NoError(t, err)

	require.Len(t, outcomes, 1)
	assert.True(t, outcomes[0].Changed)
	created, err := kube.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds-r-12", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Len(t, created.Data["AWS_ACCESS_KEY_ID"], 32)
	// Apply fills a copy, so the plan still contains no value.
	assert.Nil(t, plan.Calls[0].Object.(*corev1.Secret).Data["AWS_ACCESS_KEY_ID"])
	assertNoSecretValue(t, plan.String(), created)
}

func TestGenerateSecretCreateErrorHidesMessage(t *testing.T) {
	from := oldSecret()
	client, kube := newFake(from)
	failOnce(kube, "create", "secrets", forbiddenError("secrets", "aws-creds-r-12"))

	_, err := client.GenerateSecret(context.Background(), "ml-churn", "aws-creds-r-12", from, hexShape, testRequest)

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "creating secrets/aws-creds-r-12 in namespace ml-churn: Forbidden (HTTP 403")
	assert.NotContains(t, err.Error(), "assert.AnError")
}
