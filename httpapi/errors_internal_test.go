package httpapi

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/agentvisor/agentvisor/supervisor"
)

// TestSentinelDocsMatchTheTable: the sentinels' comments are what users read
// (go doc) in place of errorTable; each must say the status and the message
// the table gives it, and the group's comment the supervisor errors'.
func TestSentinelDocsMatchTheTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{} // a sentinel's text (errors.New's argument) -> its comment
	var groupDoc string
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for _, v := range vs.Values {
				call, ok := v.(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					continue
				}
				if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					text, _ := strconv.Unquote(lit.Value)
					docs[text] = vs.Doc.Text()
					if len(gen.Specs) > 1 {
						groupDoc = gen.Doc.Text()
					}
				}
			}
		}
	}
	supervisorErrs := map[error]string{supervisor.ErrShuttingDown: "supervisor.ErrShuttingDown", supervisor.ErrTooManyTasks: "supervisor.ErrTooManyTasks"}
	for _, row := range errorTable {
		if name, ok := supervisorErrs[row.err]; ok {
			if want := fmt.Sprintf("%s (%d)", name, row.status); !strings.Contains(groupDoc, want) {
				t.Errorf("the sentinels' group comment does not say %q", want)
			}
			continue
		}
		doc, ok := docs[row.err.Error()]
		if !ok {
			t.Errorf("no sentinel in errors.go for the table's %q", row.err)
			continue
		}
		doc = strings.Join(strings.Fields(doc), " ")
		if want := fmt.Sprintf("Answered %d ", row.status); !strings.Contains(doc, want) {
			t.Errorf("the comment of %q does not say %q: %s", row.err, want, doc)
		}
		if row.message != "" && !strings.Contains(doc, `{"error":"`+row.message+`"`) {
			t.Errorf("the comment of %q does not show its message %q: %s", row.err, row.message, doc)
		}
	}
}

// A panic that no handler of its own recovered (a bug in the server) is
// answered through the table like every other error.
func TestPanicOutsideTheHandlers(t *testing.T) {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sup.Shutdown(t.Context()) })
	s, err := New(Config{Supervisor: sup})
	if err != nil {
		t.Fatal(err)
	}
	h := s.middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("a bug") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ping", nil))
	if got := rec.Body.String(); rec.Code != 500 || got != `{"error":"Internal Server Error"}` {
		t.Fatalf("got %d %s", rec.Code, got)
	}
	if n := sup.Panics()[supervisor.PanicHTTP]; n != 1 {
		t.Fatalf("%d panics counted", n)
	}
}
