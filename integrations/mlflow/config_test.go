package mlflow_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

func TestModelURL(t *testing.T) {
	tests := []struct {
		name    string
		cfg     mlflow.Config
		model   string
		version string
		want    string
	}{
		{"default UI", mlflow.Config{BaseURL: "http://mlflow:5000"}, "fraud-detector", "3",
			"http://mlflow:5000/#/models/fraud-detector/versions/3"},
		{"API path in base", mlflow.Config{BaseURL: "https://ml.example/mlflow/api/2.0/mlflow/"}, "fraud-detector", "3",
			"https://ml.example/mlflow/#/models/fraud-detector/versions/3"},
		{"explicit UI", mlflow.Config{BaseURL: "http://mlflow:5000", UIURL: "https://mlflow.example/"}, "m", "1",
			"https://mlflow.example/#/models/m/versions/1"},
		{"escaped name", mlflow.Config{BaseURL: "http://mlflow:5000"}, "fraud detector/eu", "12",
			"http://mlflow:5000/#/models/fraud%20detector%2Feu/versions/12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := mlflow.New(tt.cfg)
			require.NoError(t, err)

			assert.Equal(t, tt.want, client.ModelURL(tt.model, tt.version))
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      mlflow.Config
		wantText string
	}{
		{"empty base", mlflow.Config{}, "invalid MLflow BaseURL"},
		{"relative base", mlflow.Config{BaseURL: "mlflow:5000"}, "invalid MLflow BaseURL"},
		{"query in base", mlflow.Config{BaseURL: "http://mlflow:5000/?x=1"}, "remove the query"},
		{"token and basic", mlflow.Config{BaseURL: "http://mlflow:5000", Token: "t", Username: "u"}, "not both"},
		{"password alone", mlflow.Config{BaseURL: "http://mlflow:5000", Password: "p"}, "without Username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := mlflow.New(tt.cfg)

			require.Error(t, err)
			assert.Nil(t, client)
			assert.Contains(t, err.Error(), tt.wantText)
		})
	}
}
