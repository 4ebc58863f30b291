// gorilla/sessions 1.2.1 with gorilla/csrf 1.7.1 (Debian 12's golang-github-gorilla-*-dev),
// built offline in GOPATH mode, under the book's session checklist.
//
// CONFIG=defaults: the sessions README's quick start: sessions.NewCookieStore(key), store
// options as shipped (Path=/, MaxAge 30 days, no HttpOnly, no Secure), login sets
// session.Values["user"], logout sets MaxAge=-1. No CSRF protection (the README has none).
// CONFIG=recommended: sessions.NewFilesystemStore (server-side) with HttpOnly, Secure,
// SameSite=Lax, a __Host- name, MaxAge = the idle timeout (the signed timestamp is checked on
// every read and refreshed on every save), a new session ID at login and privilege change (the
// old file erased), an absolute timeout in code, gorilla/csrf on every POST (the login's too),
// a per-user generation for log out everywhere, a login throttle, an even-timed login.
// Demo passwords below: never reuse them.
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/csrf"
	"github.com/gorilla/sessions"
)

type user struct {
	salt, hash []byte
	role       string
	generation int
	disabled   bool
}

var (
	mu       sync.Mutex
	users    = map[string]*user{}
	failures = map[string]int{}
	dummy    = &user{salt: []byte("dummy salt"), hash: pbkdf2([]byte("x"), []byte("dummy salt"))}
)

// pbkdf2 is PBKDF2-HMAC-SHA256 with one block, at a demo cost (the standard library has no
// password hash; golang.org/x/crypto is another package).
func pbkdf2(password, salt []byte) []byte {
	mac := hmac.New(sha256.New, password)
	mac.Write(append(append([]byte{}, salt...), 0, 0, 0, 1))
	u := mac.Sum(nil)
	out := append([]byte{}, u...)
	for i := 1; i < 20000; i++ {
		mac.Reset()
		mac.Write(u)
		u = mac.Sum(nil)
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}

func newUser(password, role string) *user {
	salt := make([]byte, 16)
	rand.Read(salt)
	return &user{salt: salt, hash: pbkdf2([]byte(password), salt), role: role}
}

// authenticate checks a password; without evenly, an unknown name costs no hash.
func authenticate(name, password string, evenly bool) *user {
	mu.Lock()
	u := users[name]
	mu.Unlock()
	if u == nil && !evenly {
		return nil
	}
	check := u
	if check == nil {
		check = dummy
	}
	ok := subtle.ConstantTimeCompare(pbkdf2([]byte(password), check.salt), check.hash) == 1
	if !ok || u == nil || u.disabled {
		return nil
	}
	return u
}

func reply(w http.ResponseWriter, status int, body map[string]interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func main() {
	config := os.Getenv("CONFIG")
	if config == "" {
		config = "defaults"
	}
	if config != "defaults" && config != "recommended" {
		log.Fatalf("CONFIG must be defaults or recommended, not %q", config)
	}
	recommended := config == "recommended"
	idle, absolute := 30*60, 8*3600
	if os.Getenv("TIMEOUTS") == "short" {
		idle, absolute = 1, 2
	}
	// The contract's demo users (name -> [password, role]), one file for every language; run.sh
	// starts the app in its own folder.
	raw, err := os.ReadFile("../demo_users.json")
	if err != nil {
		log.Fatalf("the demo users: %v", err)
	}
	var demo map[string][2]string
	if err := json.Unmarshal(raw, &demo); err != nil {
		log.Fatalf("the demo users: %v", err)
	}
	for name, pw := range demo {
		users[name] = newUser(pw[0], pw[1])
	}
	key := make([]byte, 32)
	rand.Read(key)

	var store sessions.Store
	name := "session"
	if recommended {
		dir, err := os.MkdirTemp("", "gorilla-sessions-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		fs := sessions.NewFilesystemStore(dir, key)
		fs.Options.HttpOnly, fs.Options.Secure = true, true
		fs.Options.SameSite = http.SameSiteLaxMode
		// The signed timestamp's limit, checked on every read, and the cookie's Max-Age: a
		// MaxAge of 0 (a browser-session cookie) would make Save erase the session.
		fs.MaxAge(idle)
		store, name = fs, "__Host-session"
	} else {
		store = sessions.NewCookieStore(key)
	}

	// A session with a new ID (the old one erased): gorilla/sessions has no regenerate call.
	renew := func(w http.ResponseWriter, r *http.Request, old *sessions.Session) *sessions.Session {
		values := old.Values
		old.Options.MaxAge = -1
		old.Save(r, w)
		fresh := sessions.NewSession(store, name)
		opts := *store.(*sessions.FilesystemStore).Options
		fresh.Options, fresh.IsNew = &opts, true
		for k, v := range values {
			fresh.Values[k] = v
		}
		return fresh
	}

	current := func(w http.ResponseWriter, r *http.Request) (*sessions.Session, string, *user) {
		s, _ := store.Get(r, name) // a bad cookie gives a new, empty session
		n, _ := s.Values["user"].(string)
		mu.Lock()
		u := users[n]
		mu.Unlock()
		if u == nil || u.disabled {
			return s, "", nil
		}
		if recommended {
			gen, _ := s.Values["generation"].(int)
			// In milliseconds: securecookie's own age check counts whole seconds.
			at, _ := s.Values["authenticated_at"].(int64)
			seen, _ := s.Values["seen_at"].(int64)
			now := time.Now().UnixMilli()
			if gen != u.generation || now-at > int64(absolute)*1000 || now-seen > int64(idle)*1000 {
				return s, "", nil
			}
			s.Values["seen_at"] = now
			s.Save(r, w) // re-signed and re-stored: the idle clock restarts
		}
		return s, n, u
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/csrf", func(w http.ResponseWriter, r *http.Request) {
		token := ""
		if recommended {
			token = csrf.Token(r)
		}
		reply(w, 200, map[string]interface{}{"csrf_token": token})
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			reply(w, 405, nil)
			return
		}
		n, pw := r.PostFormValue("username"), r.PostFormValue("password")
		if n == "" || pw == "" {
			reply(w, 400, map[string]interface{}{"error": "username and password are required"})
			return
		}
		mu.Lock()
		throttled := recommended && failures[n] >= 5
		mu.Unlock()
		if throttled {
			reply(w, 429, map[string]interface{}{"error": "too many attempts"})
			return
		}
		u := authenticate(n, pw, recommended)
		if u == nil {
			mu.Lock()
			failures[n]++
			mu.Unlock()
			reply(w, 401, map[string]interface{}{"error": "wrong user name or password"})
			return
		}
		s, _ := store.Get(r, name)
		if recommended {
			s = renew(w, r, s)
			mu.Lock()
			s.Values["generation"] = u.generation
			mu.Unlock()
			s.Values["authenticated_at"] = time.Now().UnixMilli()
			s.Values["seen_at"] = s.Values["authenticated_at"]
		}
		s.Values["user"] = n
		if err := s.Save(r, w); err != nil {
			reply(w, 500, nil)
			return
		}
		reply(w, 200, map[string]interface{}{"user": n})
	})
	protected := func(path string, handler func(http.ResponseWriter, *http.Request, *sessions.Session, string, *user)) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if (path == "/me") != (r.Method == http.MethodGet) {
				reply(w, 405, nil)
				return
			}
			s, n, u := current(w, r)
			if u == nil {
				reply(w, 401, map[string]interface{}{"error": "not logged in"})
				return
			}
			handler(w, r, s, n, u)
		})
	}
	endSessions := func(n string) {
		mu.Lock()
		users[n].generation++
		mu.Unlock()
	}
	protected("/me", func(w http.ResponseWriter, r *http.Request, s *sessions.Session, n string, u *user) {
		reply(w, 200, map[string]interface{}{"user": n, "role": u.role})
	})
	protected("/logout", func(w http.ResponseWriter, r *http.Request, s *sessions.Session, n string, u *user) {
		s.Options.MaxAge = -1 // the README's way to delete a session
		s.Save(r, w)
		reply(w, 200, map[string]interface{}{"logged_out": true})
	})
	protected("/logout-everywhere", func(w http.ResponseWriter, r *http.Request, s *sessions.Session, n string, u *user) {
		if !recommended {
			reply(w, 404, map[string]interface{}{"error": "no list of a user's sessions"})
			return
		}
		endSessions(n)
		s.Options.MaxAge = -1
		s.Save(r, w)
		reply(w, 200, map[string]interface{}{"logged_out_everywhere": true})
	})
	protected("/transfer", func(w http.ResponseWriter, r *http.Request, s *sessions.Session, n string, u *user) {
		reply(w, 200, map[string]interface{}{"transferred": r.PostFormValue("amount")})
	})
	protected("/elevate", func(w http.ResponseWriter, r *http.Request, s *sessions.Session, n string, u *user) {
		if authenticate(n, r.PostFormValue("password"), recommended) == nil {
			reply(w, 401, map[string]interface{}{"error": "wrong password"})
			return
		}
		if recommended {
			s = renew(w, r, s)
		}
		s.Values["elevated"] = true
		s.Save(r, w)
		reply(w, 200, map[string]interface{}{"elevated": true})
	})
	protected("/password", func(w http.ResponseWriter, r *http.Request, s *sessions.Session, n string, u *user) {
		old, pw := r.PostFormValue("old"), r.PostFormValue("new")
		if pw == "" || authenticate(n, old, recommended) == nil {
			reply(w, 400, map[string]interface{}{"error": "old password wrong or new one empty"})
			return
		}
		fresh := newUser(pw, u.role)
		mu.Lock()
		u.salt, u.hash = fresh.salt, fresh.hash
		mu.Unlock()
		if recommended && r.PostFormValue("end_other_sessions") == "1" {
			endSessions(n)
			s = renew(w, r, s)
			mu.Lock()
			s.Values["generation"] = u.generation
			mu.Unlock()
			s.Save(r, w)
		}
		reply(w, 200, map[string]interface{}{"changed": true})
	})
	admin := func(w http.ResponseWriter, r *http.Request, u *user) string {
		target := r.PostFormValue("user")
		mu.Lock()
		_, ok := users[target]
		mu.Unlock()
		if u.role != "admin" {
			reply(w, 403, map[string]interface{}{"error": "administrators only"})
			return ""
		}
		if !ok {
			reply(w, 404, map[string]interface{}{"error": "no such user"})
			return ""
		}
		return target
	}
	protected("/admin/end-sessions", func(w http.ResponseWriter, r *http.Request, s *sessions.Session, n string, u *user) {
		if target := admin(w, r, u); target != "" {
			if !recommended {
				reply(w, 404, map[string]interface{}{"error": "no list of a user's sessions"})
				return
			}
			endSessions(target)
			reply(w, 200, map[string]interface{}{"ended": target})
		}
	})
	protected("/admin/disable", func(w http.ResponseWriter, r *http.Request, s *sessions.Session, n string, u *user) {
		if target := admin(w, r, u); target != "" {
			mu.Lock()
			users[target].disabled = true
			mu.Unlock()
			reply(w, 200, map[string]interface{}{"disabled": target})
		}
	})

	var handler http.Handler = mux
	if recommended {
		csrfKey := make([]byte, 32)
		rand.Read(csrfKey)
		// MaxAge(0): a browser-session cookie (its default is 12 hours).
		handler = csrf.Protect(csrfKey, csrf.Path("/"), csrf.CookieName("__Host-csrf"), csrf.MaxAge(0),
			csrf.SameSite(csrf.SameSiteLaxMode),
			csrf.ErrorHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reply(w, 403, map[string]interface{}{"error": "CSRF token missing or wrong"})
			})))(mux)
	}
	bounded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				reply(w, 400, map[string]interface{}{"error": "bad form"})
				return
			}
		}
		if recommended {
			w.Header().Set("Cache-Control", "no-store")
		}
		handler.ServeHTTP(w, r)
	})
	server := &http.Server{
		Addr:              "127.0.0.1:" + os.Getenv("PORT"),
		Handler:           bounded,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       20 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.Close()
	}()
	fmt.Fprintln(os.Stderr, "listening on", server.Addr)
	if err := server.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
