package demo

import (
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// ParityCheck is the check run that proves the training/serving parity
// tests passed on the demo's pull request.
const ParityCheck = "parity-tests"

// benignPickle is a protocol-2 pickle of {"threshold": 0.5}, written out
// opcode by opcode: PROTO 2, EMPTY_DICT, BINPUT 0, SHORT_BINUNICODE
// "threshold", BINFLOAT 0.5, SETITEM, STOP. It imports nothing.
var benignPickle = []byte("\x80\x02}q\x00X\x09\x00\x00\x00thresholdG?\xe0\x00\x00\x00\x00\x00\x00s.")

// seedRegistry registers the production version 2 and the candidate
// version 3 of the demo model, with their runs, metrics, lineage and the
// candidate's model artifacts.
func (f *Fakes) seedRegistry() {
	m := f.MLflow
	m.AddVersion(Model, "2", "Production", nil)
	m.AddVersion(Model, "3", "Staging", nil)
	m.AddRun(mlflow.Run{ID: "run-fd-2", Name: "fraud-detector-2026-10",
		Metrics: map[string]float64{"accuracy": 0.941, "auc": 0.962, "latency_p95_ms": 38},
		Params:  map[string]string{"dataset_version": "2026-10-31"}})
	m.AddRun(mlflow.Run{ID: "run-fd-3", Name: "fraud-detector-2026-11",
		Metrics: map[string]float64{"accuracy": 0.947, "auc": 0.965, "latency_p95_ms": 41, "f1": 0.812},
		Params:  map[string]string{"dataset_version": "2026-11-30"},
		Datasets: []mlflow.DatasetInput{{Name: "transactions-2026-11", Digest: "9f2c41d7", SourceType: "delta",
			Source: "s3://ml-data/fraud/transactions", Context: "training"}}})
	m.SetVersionRun(Model, "2", "run-fd-2", "")
	m.SetVersionRun(Model, "3", "run-fd-3", "")
	m.AddArtifact("run-fd-3", "model/MLmodel", []byte("artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"))
	m.AddArtifact("run-fd-3", "model/model.pkl", benignPickle)
	m.AddArtifact("run-fd-3", "model/requirements.txt", []byte("scikit-learn==1.5.2\n"))
}

// thresholds are the demo model's metric thresholds.
func thresholds() map[string]config.Threshold {
	f := func(v float64) *float64 { return &v }
	return map[string]config.Threshold{
		"accuracy":       {Min: f(0.9), MaxRegression: f(0.01)},
		"auc":            {Min: f(0.95)},
		"latency_p95_ms": {Max: f(50), MaxRegression: f(5), LowerIsBetter: true},
	}
}
