package authn

import (
	"context"
	"crypto/subtle"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"kapi/internal/request"
)

// TokenFile authenticates static bearer tokens from --token-auth-file:
// CSV lines of token,user,uid,"group1,group2" (groups optional).
type TokenFile struct {
	tokens map[string]*request.User
}

// NewTokenFile reads the file.
func NewTokenFile(path string) (*TokenFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	t := &TokenFile{tokens: map[string]*request.User{}}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) > 0 && strings.HasPrefix(strings.TrimSpace(rec[0]), "#") {
			continue
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("%s line %d: want token,user,uid[,\"groups\"]", path, line)
		}
		u := &request.User{Name: rec[1], UID: rec[2]}
		if len(rec) > 3 && rec[3] != "" {
			for _, g := range strings.Split(rec[3], ",") {
				if g = strings.TrimSpace(g); g != "" {
					u.Groups = append(u.Groups, g)
				}
			}
		}
		if rec[0] == "" || u.Name == "" {
			return nil, fmt.Errorf("%s line %d: empty token or user", path, line)
		}
		t.tokens[rec[0]] = u
	}
	return t, nil
}

// AuthenticateToken implements TokenAuthenticator: a token not in the
// file is not this authenticator's (another may know it). Its tokens name
// no audience; AudienceAgnostic keeps them to the API audiences.
func (t *TokenFile) AuthenticateToken(_ context.Context, token string, _ []string, _ *TokenUse) (*request.User, bool, error) {
	for k, u := range t.tokens {
		if subtle.ConstantTimeCompare([]byte(k), []byte(token)) == 1 {
			cp := *u
			cp.Groups = append([]string(nil), u.Groups...)
			return &cp, true, nil
		}
	}
	return nil, false, nil
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	parts := strings.SplitN(strings.TrimSpace(h), " ", 2)
	if len(parts) != 2 || !strings.EqualFold(parts[0], "bearer") {
		return "", false
	}
	token := strings.TrimSpace(parts[1])
	return token, token != ""
}
