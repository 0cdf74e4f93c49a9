package record

import (
	"bytes"
	"encoding/binary"
)

// A kernel that seals and opens records itself (Linux's kTLS) takes the
// traffic keys once and leaves the rest of the record layer's work to
// its owner: the records that carry no application data. The functions
// here let a Layer do that work for such an owner, so that alerts,
// KeyUpdate and the refusal of renegotiation follow one set of rules
// whichever side seals.

// Material is one direction's traffic key in the form a kernel takes it.
type Material struct {
	Key []byte
	// IV is the direction's 12-byte static IV, into which the sequence
	// number is XORed; for TLS 1.2 AES-GCM only its first 4 bytes (the
	// implicit salt) are fixed, and the other 8 are the explicit nonce,
	// the sequence number itself.
	IV  [12]byte
	Seq uint64
}

// ForgetKeys wipes the raw keys the layer keeps for Material, now and
// after any KeyUpdate: for a session that stays in user space, whose
// AEADs are all it needs.
func (l *Layer) ForgetKeys() {
	l.forget = true
	for _, d := range []*direction{&l.in, &l.out} {
		clear(d.key)
		d.key = nil
	}
}

// Material returns both directions' current keys: in is what the peer
// seals, out what the layer (or the kernel in its place) seals. They are
// copies, for the caller to wipe.
func (l *Layer) Material() (in, out Material) {
	return l.in.material(l.suite.explicitNonce), l.out.material(l.suite.explicitNonce)
}

func (d *direction) material(explicit bool) Material {
	m := Material{Key: bytes.Clone(d.key), IV: d.iv, Seq: d.seq}
	if explicit {
		binary.BigEndian.PutUint64(m.IV[4:], d.seq)
	}
	return m
}

// Handle takes a record that someone else opened (the kernel) and that
// carries no application data: an alert or a post-handshake message of
// content type ctype, with plaintext p. It returns io.EOF at the peer's
// close_notify, an *Error when the session must end. rekeyIn reports that
// the peer's keys changed (a TLS 1.3 KeyUpdate): what it seals from now
// on opens with Material's in. After Handle, Pending says whether the
// layer owes the peer records (see TakeControl).
func (l *Layer) Handle(ctype byte, p []byte) (rekeyIn bool, err error) {
	switch ctype {
	case typeAlert:
		return false, l.alert(p)
	case typeHandshake:
		before := l.inUpdates
		err = l.postHandshake(p)
		return l.inUpdates != before, err
	case typeApplicationData:
		return false, fault(alertUnexpectedMessage, "application data handed to Handle")
	}
	return false, fault(alertUnexpectedMessage, "a record of type %d after the handshake", ctype)
}

// TakeControl passes the records the layer owes the peer to send, in
// plaintext with their content types, for a kernel to seal. A KeyUpdate
// changes the write keys after its record: rekeyOut reports it, and the
// kernel must then seal with Material's out.
func (l *Layer) TakeControl(send func(ctype byte, p []byte)) (rekeyOut bool) {
	rekeyOut = l.updateOut
	l.owed(send)
	return rekeyOut
}

// CloseNotify is the close_notify alert's content type and plaintext,
// for a kernel to seal.
func CloseNotify() (ctype byte, p []byte) {
	return typeAlert, []byte{levelWarning, alertCloseNotify}
}

// FatalAlert is the fatal alert desc's content type and plaintext.
func FatalAlert(desc uint8) (ctype byte, p []byte) {
	return typeAlert, []byte{levelFatal, desc}
}

// Suite is the session's cipher suite.
func (l *Layer) Suite() uint16 { return l.suiteID }
