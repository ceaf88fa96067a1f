package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/lib/pq" // the floors' PostgreSQL driver, as the server's

	"github.com/coder/websocket"
)

// The floors: what the same machine does with no application in the way,
// measured by the same clients as the server.

// serveFloor listens on a loopback port, prints "listening http://ADDR" on
// stdout and serves h until ctx ends.
func serveFloor(ctx context.Context, stdout io.Writer, h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(stdout, "listening http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// floorWS is the -floor-ws mode: a bare coder/websocket server that
// accepts connections and reads from them in a loop, nothing else.
func floorWS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow() //nolint:errcheck // best effort
		for {
			_, rd, err := c.Reader(r.Context())
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, rd); err != nil {
				return
			}
		}
	})
}

// floorHTTP is the -floor-http mode: net/http and database/sql running the
// history query with no token check, a pool the size of the server's.
func floorHTTP(db *sql.DB) http.Handler {
	type row struct {
		ID             int64     `json:"id"`
		Content        string    `json:"content"`
		Date           time.Time `json:"date"`
		SenderID       int64     `json:"sender_id"`
		ConversationID int64     `json:"conversation_id"`
	}
	const q = `SELECT id, content, date, sender_id, conversation_id FROM messages WHERE conversation_id = $1 `
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/conversations/{id}/messages", func(w http.ResponseWriter, r *http.Request) {
		conv, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		limit := 50
		if v := r.URL.Query().Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 100 {
				http.Error(w, "bad limit", http.StatusUnprocessableEntity)
				return
			}
		}
		query, args := q+`ORDER BY id DESC LIMIT $2`, []any{conv, limit + 1}
		if b := r.URL.Query().Get("before"); b != "" {
			before, err := strconv.Atoi(b)
			if err != nil {
				http.Error(w, "bad before", http.StatusUnprocessableEntity)
				return
			}
			query, args = q+`AND id < $2 ORDER BY id DESC LIMIT $3`, []any{conv, before, limit + 1}
		}
		rows, err := db.QueryContext(r.Context(), query, args...)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		page := struct {
			Data   []row `json:"data"`
			Paging struct {
				Before *int64 `json:"before"`
			} `json:"paging"`
		}{Data: make([]row, 0, limit+1)}
		for rows.Next() {
			var m row
			if err := rows.Scan(&m.ID, &m.Content, &m.Date, &m.SenderID, &m.ConversationID); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			page.Data = append(page.Data, m)
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if len(page.Data) > limit {
			page.Data = page.Data[:limit]
			page.Paging.Before = &page.Data[limit-1].ID
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(page) //nolint:errcheck // the client went away
	})
	return mux
}

// serveHTTPFloor is the -floor-http mode.
func serveHTTPFloor(ctx context.Context, stdout io.Writer, dbURL string) error {
	if _, err := checkLoopbackPG(dbURL); err != nil {
		return err
	}
	db, err := openFloorDB(dbURL, 32)
	if err != nil {
		return err
	}
	defer db.Close()
	return serveFloor(ctx, stdout, floorHTTP(db))
}

// openFloorDB opens a lib/pq pool of n connections on dbURL.
func openFloorDB(dbURL string, n int) (*sql.DB, error) {
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}

// InsertFloor is the single-row INSERT rate into messages.
type InsertFloor struct {
	Conns      int     `json:"conns"`
	Rows       int64   `json:"rows"`
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_s"`
	Latency    Summary `json:"latency"`
}

// insertFloor runs conns workers, each inserting one message per
// autocommitted statement into conv for d.
func insertFloor(ctx context.Context, dbURL string, conns, conv, sender int, d time.Duration) (InsertFloor, error) {
	db, err := openFloorDB(dbURL, conns)
	if err != nil {
		return InsertFloor{}, err
	}
	defer db.Close()
	stmt, err := db.PrepareContext(ctx, `INSERT INTO messages (content, date, conversation_id, sender_id) VALUES ($1, $2, $3, $4)`)
	if err != nil {
		return InsertFloor{}, err
	}
	defer stmt.Close()
	// Open every connection before the clock starts.
	warm := make([]*sql.Conn, conns)
	for i := range warm {
		if warm[i], err = db.Conn(ctx); err != nil {
			return InsertFloor{}, err
		}
	}
	for _, c := range warm {
		c.Close()
	}
	var (
		rows, errs atomic.Int64
		mu         sync.Mutex
		all        Hist
		wg         sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h Hist
			for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
				t := time.Now()
				if _, err := stmt.ExecContext(ctx, fmt.Sprintf("floor %d %d", w, i), t.UTC(), conv, sender); err != nil {
					errs.Add(1)
					continue
				}
				h.Record(time.Since(t))
				rows.Add(1)
			}
			mu.Lock()
			all.Merge(&h)
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	return InsertFloor{Conns: conns, Rows: rows.Load(), Errors: errs.Load(), Seconds: secs,
		RowsPerSec: float64(rows.Load()) / secs, Latency: all.Summary()}, ctx.Err()
}
