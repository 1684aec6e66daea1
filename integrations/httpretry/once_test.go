package httpretry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

var (
	errLost     = errors.New("connection closed before the response")
	errRejected = errors.New("422 validation failed")
)

func isLost(err error) bool { return errors.Is(err, errLost) }

func TestOnceFindsEffectOfLostReply(t *testing.T) {
	sends, finds := 0, 0
	send := func(context.Context) (string, error) { sends++; return "", errLost }
	find := func(context.Context) (string, bool, error) { finds++; return "created", true, nil }

	got, err := httpretry.Once(context.Background(), 3, send, find, isLost)

	require.NoError(t, err)
	assert.Equal(t, "created", got)
	assert.Equal(t, 1, sends, "the effect exists, so it is not sent again")
	assert.Equal(t, 1, finds)
}

func TestOnceSendsAgainWhenEffectMissing(t *testing.T) {
	sends := 0
	send := func(context.Context) (string, error) {
		sends++
		if sends == 1 {
			return "", errLost
		}
		return "created", nil
	}
	find := func(context.Context) (string, bool, error) { return "", false, nil }

	got, err := httpretry.Once(context.Background(), 3, send, find, isLost)

	require.NoError(t, err)
	assert.Equal(t, "created", got)
	assert.Equal(t, 2, sends)
}

func TestOnceGivesUpUnknown(t *testing.T) {
	sends := 0
	send := func(context.Context) (string, error) { sends++; return "", errLost }
	find := func(context.Context) (string, bool, error) { return "", false, nil }

	_, err := httpretry.Once(context.Background(), 2, send, find, isLost)

	var unknown *httpretry.UnknownOutcomeError
	require.ErrorAs(t, err, &unknown)
	assert.ErrorIs(t, err, errLost)
	assert.Equal(t, 2, sends)
}

func TestOnceFailedFindIsUnknown(t *testing.T) {
	send := func(context.Context) (string, error) { return "", errLost }
	find := func(context.Context) (string, bool, error) { return "", false, errRejected }

	_, err := httpretry.Once(context.Background(), 3, send, find, isLost)

	var unknown *httpretry.UnknownOutcomeError
	require.ErrorAs(t, err, &unknown)
	assert.ErrorIs(t, unknown.Last, errRejected)
}

func TestOnceReturnsKnownFailure(t *testing.T) {
	sends := 0
	send := func(context.Context) (string, error) { sends++; return "", errRejected }
	find := func(context.Context) (string, bool, error) {
		t.Fatal("a known failure needs no find")
		return "", false, nil
	}

	_, err := httpretry.Once(context.Background(), 3, send, find, isLost)

	require.ErrorIs(t, err, errRejected)
	var unknown *httpretry.UnknownOutcomeError
	assert.False(t, errors.As(err, &unknown))
	assert.Equal(t, 1, sends)
}

func TestOnceKnownFailureAfterUnknownStaysUnknown(t *testing.T) {
	sends := 0
	send := func(context.Context) (string, error) {
		sends++
		if sends == 1 {
			return "", errLost
		}
		return "", errRejected
	}
	find := func(context.Context) (string, bool, error) { return "", false, nil }

	_, err := httpretry.Once(context.Background(), 3, send, find, isLost)

	var unknown *httpretry.UnknownOutcomeError
	require.ErrorAs(t, err, &unknown, "the first send may still have taken effect")
	assert.ErrorIs(t, unknown.Last, errRejected)
}
