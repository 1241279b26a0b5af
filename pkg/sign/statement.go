package sign

import (
	"crypto/ed25519"
	"fmt"

	"github.com/lcsync/lcsync/pkg/wire"
)

// Sign fills in st's algorithm, key id and signature with k. The other fields must be set.
func (k *SecretKey) Sign(st *wire.Statement) error {
	st.Alg = wire.AlgEd25519
	st.KeyID = k.pub.ID
	sig, err := k.sign(st.SignedBytes())
	if err != nil {
		return err
	}
	st.Sig = sig
	return nil
}

// Verify checks that pub signed st: the key ids must match and the Ed25519 signature over
// st.SignedBytes() must verify. It checks nothing else (see Rules).
func Verify(pub PublicKey, st *wire.Statement) error {
	if st.Alg != wire.AlgEd25519 {
		return fmt.Errorf("statement of unknown algorithm %d", st.Alg)
	}
	if st.KeyID != pub.ID {
		return fmt.Errorf("statement of key %s, not %s", PublicKey{ID: st.KeyID}.IDString(), pub.IDString())
	}
	if !ed25519.Verify(pub.Key[:], st.SignedBytes(), st.Sig[:]) {
		return fmt.Errorf("statement signature does not verify with key %s", pub.IDString())
	}
	return nil
}
