package k8stest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// credentials are the files that the control plane reads for TLS and
// authentication, all generated fresh for each cluster.
type credentials struct {
	caCertFile        string // CA that signed the API server's serving certificate
	caCertPEM         []byte
	servingCertFile   string
	servingKeyFile    string
	serviceAccountKey string // private key that signs service account tokens
	serviceAccountPub string
	tokenFile         string // static token file for --token-auth-file
	adminToken        string
}

// adminUser is the user name of the static admin token. It is in the
// system:masters group, which RBAC allows everything.
const adminUser = "k8stest-admin"

// writeCredentials generates a CA, a serving certificate for 127.0.0.1 and
// localhost, a service account key pair and an admin token, and writes them
// into dir.
func writeCredentials(dir string) (*credentials, error) {
	creds := &credentials{
		caCertFile:        filepath.Join(dir, "ca.crt"),
		servingCertFile:   filepath.Join(dir, "apiserver.crt"),
		servingKeyFile:    filepath.Join(dir, "apiserver.key"),
		serviceAccountKey: filepath.Join(dir, "service-account.key"),
		serviceAccountPub: filepath.Join(dir, "service-account.pub"),
		tokenFile:         filepath.Join(dir, "tokens.csv"),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "k8stest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	creds.caCertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(creds.caCertFile, creds.caCertPEM, 0o600); err != nil {
		return nil, err
	}

	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	servingTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTemplate, caCert, &servingKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	if err := writeCertificate(creds.servingCertFile, servingDER); err != nil {
		return nil, err
	}
	if err := writePrivateKey(creds.servingKeyFile, servingKey); err != nil {
		return nil, err
	}

	// The API server and the controller manager accept ECDSA keys for
	// service account tokens (ES256), and they are much faster to generate
	// than RSA keys.
	serviceAccountKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writePrivateKey(creds.serviceAccountKey, serviceAccountKey); err != nil {
		return nil, err
	}
	publicDER, err := x509.MarshalPKIXPublicKey(&serviceAccountKey.PublicKey)
	if err != nil {
		return nil, err
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicDER})
	if err := os.WriteFile(creds.serviceAccountPub, publicPEM, 0o600); err != nil {
		return nil, err
	}

	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	creds.adminToken = hex.EncodeToString(token)
	// Format of --token-auth-file: token,user,uid,"group1,group2".
	line := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n", creds.adminToken, adminUser, adminUser)
	if err := os.WriteFile(creds.tokenFile, []byte(line), 0o600); err != nil {
		return nil, err
	}
	return creds, nil
}

func writeCertificate(path string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func writePrivateKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}
