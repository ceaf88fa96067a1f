package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/textproto"

	gomail "github.com/wneessen/go-mail"
)

// IsTransient reports whether sending the same mail again later may succeed:
// SMTP 4xx replies, network failures and timeouts. 5xx replies, bad
// addresses, TLS and configuration problems are permanent, and so is
// anything unrecognised, because a wrong retry repeats a failure at every
// backoff step while a wrong give-up is one log line.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	// A reply code is the server's own verdict, so it wins over whatever
	// network error may have followed it (e.g. on QUIT).
	if code := replyCode(err); code != 0 {
		return code >= 400 && code < 500
	}
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) {
		return transientReason(sendErr.Reason)
	}
	if tlsFailure(err) {
		return false
	}
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &netErr)
}

// replyCode digs the SMTP reply code out of err, or returns 0.
func replyCode(err error) int {
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) && sendErr.ErrorCode() != 0 {
		return sendErr.ErrorCode()
	}
	var protoErr *textproto.Error
	if errors.As(err, &protoErr) {
		return protoErr.Code
	}
	return 0
}

// transientReason judges a go-mail SendError that carries no reply code: the
// connection failed part-way, unless the message itself was unusable.
func transientReason(r gomail.SendErrReason) bool {
	switch r {
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		return false
	default:
		return true
	}
}

// tlsFailure spots a failed TLS handshake: a certificate we reject, or an
// alert either side sent. crypto/tls dresses alerts as *net.OpError, which
// would otherwise pass for a network failure, yet a retry meets the same
// certificate or protocol mismatch.
func tlsFailure(err error) bool {
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && (opErr.Op == "remote error" || opErr.Op == "local error")
}
