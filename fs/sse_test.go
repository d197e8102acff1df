package fs

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
)

func getx(t *testing.T, p, name string) (string, error) {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(p, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func setx(p, name, v string) error { return unix.Setxattr(p, name, []byte(v), 0) }

func mustSetx(t *testing.T, p, name, v string) {
	t.Helper()
	if err := setx(p, name, v); err != nil {
		t.Fatalf("setxattr %s %s: %v", p, name, err)
	}
}

func sseOf(t *testing.T, p string) object.SSEInfo {
	t.Helper()
	v, err := getx(t, p, xattrSSE)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", p, xattrSSE, err)
	}
	var info object.SSEInfo
	if err := json.Unmarshal([]byte(v), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
}

// readErr reads p and returns the errno (0 on success) after checking the content.
func readErr(t *testing.T, p, want string) error {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if string(b) != want {
		t.Fatalf("%s = %q, want %q", p, b, want)
	}
	return nil
}

func wantErrno(t *testing.T, what string, err error, want syscall.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func newCustomerKey(t *testing.T) (raw []byte, b64, md5b64 string) {
	raw = make([]byte, 32)
	rand.Read(raw)
	sum := md5.Sum(raw)
	return raw, base64.StdEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(sum[:])
}

func TestSSEDefaultIsS3(t *testing.T) {
	m := newTestMount(t)
	writeFile(t, m.path("f"), "plain default")
	info := sseOf(t, m.path("f"))
	if info.Type != "SSE-S3" || info.KeyName != keyring.DefaultKeyName || info.Status != "available" || info.KeyID == "" {
		t.Fatalf("default file SSE %+v", info)
	}
	if v, _ := getx(t, m.path("f"), xattrSSEType); v != "SSE-S3" {
		t.Fatalf("type xattr %q", v)
	}
	if _, err := getx(t, m.path("f"), xattrSSEKMSKeyID); !errors.Is(err, syscall.ENODATA) {
		t.Fatalf("kms-key-id of an SSE-S3 file: %v", err)
	}
	if _, err := getx(t, m.path("f"), xattrSSECustomerKey); !errors.Is(err, syscall.ENODATA) {
		t.Fatalf("customer key readable: %v", err)
	}
	// Virtual attributes are not listed, so cp -a never copies them.
	buf := make([]byte, 4096)
	n, _ := unix.Listxattr(m.path("f"), buf)
	if bytes.Contains(buf[:n], []byte("ssefs")) {
		t.Fatalf("listxattr shows %q", buf[:n])
	}
}

func TestSSEKMSDirectoryDefaultInherited(t *testing.T) {
	m := newTestMount(t)
	if err := m.l.KeyCreate("project"); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(m.path("d/old-sub"), 0o755)
	writeFile(t, m.path("d/before"), "before the default")
	if err := setx(m.path("d"), xattrSSEKMSKeyID, "no-such-key"); !errors.Is(err, syscall.ENOKEY) {
		t.Fatalf("unknown key name: %v, want ENOKEY", err)
	}
	mustSetx(t, m.path("d"), xattrSSEKMSKeyID, "project")
	os.Mkdir(m.path("d/new-sub"), 0o755)
	os.Mkdir(m.path("d/new-sub/deeper"), 0o755)
	files := map[string]string{"d/a": "a", "d/old-sub/b": "b", "d/new-sub/c": "c", "d/new-sub/deeper/e": "e"}
	for rel, c := range files {
		writeFile(t, m.path(rel), c)
	}
	writeFile(t, m.path("outside"), "o")
	m.remount()
	for rel, c := range files {
		if err := readErr(t, m.path(rel), c); err != nil {
			t.Fatal(err)
		}
		if info := sseOf(t, m.path(rel)); info.Type != "SSE-KMS" || info.KeyName != "project" {
			t.Fatalf("%s: %+v", rel, info)
		}
	}
	for _, rel := range []string{"d/before", "outside"} {
		if info := sseOf(t, m.path(rel)); info.Type != "SSE-S3" {
			t.Fatalf("%s: %+v", rel, info)
		}
	}
	if v, _ := getx(t, m.path("d/new-sub/deeper"), xattrSSEKMSKeyID); v != "project" {
		t.Fatalf("inherited default %q", v)
	}
	// Removing the default: new files are SSE-S3 again.
	if err := unix.Removexattr(m.path("d"), xattrSSEKMSKeyID); err != nil {
		t.Fatal(err)
	}
	writeFile(t, m.path("d/after"), "after")
	if info := sseOf(t, m.path("d/after")); info.Type != "SSE-S3" {
		t.Fatalf("after removing the default: %+v", info)
	}
}

func TestSSEPerFileOverride(t *testing.T) {
	m := newTestMount(t)
	for _, k := range []string{"one", "two"} {
		if err := m.l.KeyCreate(k); err != nil {
			t.Fatal(err)
		}
	}
	// Before content: an empty file gets its own key, then content.
	f, err := os.Create(m.path("empty"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	mustSetx(t, m.path("empty"), xattrSSEKMSKeyID, "one")
	writeFile(t, m.path("empty"), "written after the key")

	// After content: a re-wrap, no data rewritten.
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB: part files
	if err := os.WriteFile(m.path("big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeHash(t, filepath.Join(m.dir, "parts"))
	mustSetx(t, m.path("big"), xattrSSEKMSKeyID, "two")
	if err := setx(m.path("big"), xattrSSEKMSKeyID, "nope"); !errors.Is(err, syscall.ENOKEY) {
		t.Fatalf("unknown key: %v", err)
	}
	if after := treeHash(t, filepath.Join(m.dir, "parts")); after != before {
		t.Fatal("a re-wrap rewrote part files")
	}
	mustSetx(t, m.path("empty"), xattrSSEType, "SSE-S3") // and back to the deployment key
	m.remount()
	if info := sseOf(t, m.path("big")); info.Type != "SSE-KMS" || info.KeyName != "two" {
		t.Fatalf("big: %+v", info)
	}
	if info := sseOf(t, m.path("empty")); info.Type != "SSE-S3" {
		t.Fatalf("empty: %+v", info)
	}
	b, err := os.ReadFile(m.path("big"))
	if err != nil || !bytes.Equal(b, big) {
		t.Fatalf("big after re-wrap and remount: %v", err)
	}
	if err := readErr(t, m.path("empty"), "written after the key"); err != nil {
		t.Fatal(err)
	}
	// Deleting key one does not touch what was moved off it.
	if err := m.l.KeyDelete("one"); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, m.path("empty"), "written after the key"); err != nil {
		t.Fatal(err)
	}
}

func TestSSECustomerKey(t *testing.T) {
	m := newTestMount(t)
	_, key, keyMD5 := newCustomerKey(t)
	_, wrong, _ := newCustomerKey(t)
	os.MkdirAll(m.path("c/sub"), 0o755)
	if err := setx(m.path("c"), xattrSSECustomerMD5, keyMD5); err != nil {
		t.Fatal(err)
	}
	if err := setx(m.path("c"), xattrSSECustomerKey, wrong); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("key not matching the given MD5: %v, want EINVAL", err)
	}
	mustSetx(t, m.path("c"), xattrSSECustomerMD5, keyMD5)
	mustSetx(t, m.path("c"), xattrSSECustomerKey, key)
	writeFile(t, m.path("c/secret"), "customer data")
	writeFile(t, m.path("c/sub/deep"), "deeper customer data")
	writeFile(t, m.path("s3"), "not customer data")
	info := sseOf(t, m.path("c/secret"))
	if info.Type != "SSE-C" || info.Fingerprint == "" || info.KeyName != "" || info.Status != "available" {
		t.Fatalf("SSE-C file: %+v", info)
	}
	if err := readErr(t, m.path("c/secret"), "customer data"); err != nil {
		t.Fatal(err)
	}
	// A file given its own key after it has content (SSE-C overrides SSE-S3).
	_, own, _ := newCustomerKey(t)
	mustSetx(t, m.path("s3"), xattrSSECustomerKey, own)
	if sseOf(t, m.path("s3")).Type != "SSE-C" {
		t.Fatal("per-file SSE-C")
	}

	m.remount()
	wantErrno(t, "read without the key", readErr(t, m.path("c/secret"), ""), syscall.ENOKEY)
	wantErrno(t, "read own-key file without the key", readErr(t, m.path("s3"), ""), syscall.ENOKEY)
	wantErrno(t, "create without the key", os.WriteFile(m.path("c/new"), []byte("x"), 0o644), syscall.ENOKEY)
	if st := sseOf(t, m.path("c/secret")).Status; st != "no-key" {
		t.Fatalf("status %q", st)
	}
	wantErrno(t, "wrong key for the file", setx(m.path("c/secret"), xattrSSECustomerKey, wrong), syscall.EACCES)
	wantErrno(t, "wrong key for the directory", setx(m.path("c"), xattrSSECustomerKey, wrong), syscall.EACCES)
	wantErrno(t, "read after wrong keys", readErr(t, m.path("c/secret"), ""), syscall.ENOKEY)
	mustSetx(t, m.path("c"), xattrSSECustomerKey, key)
	if err := readErr(t, m.path("c/secret"), "customer data"); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, m.path("c/sub/deep"), "deeper customer data"); err != nil {
		t.Fatal(err)
	}
	mustSetx(t, m.path("s3"), xattrSSECustomerKey, own)
	if err := readErr(t, m.path("s3"), "not customer data"); err != nil {
		t.Fatal(err)
	}
	// SSE-C does not depend on the KMS: sealing it leaves SSE-C files readable.
	if err := m.l.KMSSeal(); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, m.path("c/secret"), "customer data"); err != nil {
		t.Fatalf("SSE-C file while the KMS is sealed: %v", err)
	}
	if err := m.l.KMSUnseal(m.mk); err != nil {
		t.Fatal(err)
	}
	// Forgetting the key locks its files again.
	if err := unix.Removexattr(m.path("s3"), xattrSSECustomerKey); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	wantErrno(t, "read after forgetting the key", readErr(t, m.path("s3"), ""), syscall.ENOKEY)
}

// openRead opens p, reads it whole (filling the page cache) and returns the open file.
func openRead(t *testing.T, p, want string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b := make([]byte, len(want)+10)
	n, _ := f.ReadAt(b, 0)
	if string(b[:n]) != want {
		t.Fatalf("%s = %q", p, b[:n])
	}
	return f
}

func preadErr(f *os.File, want string) error {
	b := make([]byte, len(want)+10)
	n, err := f.ReadAt(b, 0)
	if n > 0 && string(b[:n]) != want {
		return errors.New("wrong content " + string(b[:n]))
	}
	if n == len(want) {
		return nil
	}
	return err
}

func TestKMSSealAndUnseal(t *testing.T) {
	m := newTestMount(t)
	if err := m.l.KeyCreate("k"); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(m.path("k"), 0o755)
	mustSetx(t, m.path("k"), xattrSSEKMSKeyID, "k")
	writeFile(t, m.path("s3"), "s3 content")
	writeFile(t, m.path("k/f"), "kms content")
	open1 := openRead(t, m.path("s3"), "s3 content")
	open2 := openRead(t, m.path("k/f"), "kms content")
	w, err := os.OpenFile(m.path("written-while-open"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("buffered"))

	if err := m.l.KMSSeal(); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "open descriptor, SSE-S3 (page cache)", preadErr(open1, "s3 content"), syscall.ENOKEY)
	wantErrno(t, "open descriptor, SSE-KMS (page cache)", preadErr(open2, "kms content"), syscall.ENOKEY)
	wantErrno(t, "new open", readErr(t, m.path("s3"), ""), syscall.ENOKEY)
	wantErrno(t, "new open KMS", readErr(t, m.path("k/f"), ""), syscall.ENOKEY)
	_, werr := w.WriteAt([]byte("more"), 8)
	wantErrno(t, "write on an open descriptor", werr, syscall.ENOKEY)
	wantErrno(t, "create", os.WriteFile(m.path("new"), []byte("x"), 0o644), syscall.ENOKEY)
	if !m.l.KMSStatus().Sealed {
		t.Fatal("status not sealed")
	}
	if err := m.l.KMSUnseal(keyring.MasterKey{1}); !errors.Is(err, keyring.ErrWrongMasterKey) {
		t.Fatalf("unseal with a wrong key: %v", err)
	}
	if err := m.l.KMSUnseal(m.mk); err != nil {
		t.Fatal(err)
	}
	if err := preadErr(open1, "s3 content"); err != nil {
		t.Fatalf("open descriptor after unseal: %v", err)
	}
	if err := preadErr(open2, "kms content"); err != nil {
		t.Fatalf("open descriptor after unseal: %v", err)
	}
	if err := readErr(t, m.path("written-while-open"), "buffered"); err != nil {
		t.Fatalf("write buffered before the seal: %v", err)
	}
}

func TestKeySealOnlyItsFiles(t *testing.T) {
	m := newTestMount(t)
	for _, k := range []string{"a", "b"} {
		if err := m.l.KeyCreate(k); err != nil {
			t.Fatal(err)
		}
		os.Mkdir(m.path(k), 0o755)
		mustSetx(t, m.path(k), xattrSSEKMSKeyID, k)
		writeFile(t, m.path(k+"/f"), "under "+k)
	}
	writeFile(t, m.path("s3"), "s3")
	openA := openRead(t, m.path("a/f"), "under a")
	if err := m.l.KeySeal("a"); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "open descriptor under a sealed key", preadErr(openA, "under a"), syscall.ENOKEY)
	wantErrno(t, "open under a sealed key", readErr(t, m.path("a/f"), ""), syscall.ENOKEY)
	if st := sseOf(t, m.path("a/f")).Status; st != "sealed" {
		t.Fatalf("status %q", st)
	}
	for p, c := range map[string]string{"b/f": "under b", "s3": "s3"} {
		if err := readErr(t, m.path(p), c); err != nil {
			t.Fatalf("%s with another key sealed: %v", p, err)
		}
	}
	openA.Close()
	m.remount() // a key seal persists
	wantErrno(t, "after remount", readErr(t, m.path("a/f"), ""), syscall.ENOKEY)
	if err := m.l.KeyUnseal("a"); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, m.path("a/f"), "under a"); err != nil {
		t.Fatal(err)
	}
}

func TestKeyDeleteIsForever(t *testing.T) {
	m := newTestMount(t)
	if err := m.l.KeyCreate("doomed"); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(m.path("d"), 0o755)
	mustSetx(t, m.path("d"), xattrSSEKMSKeyID, "doomed")
	writeFile(t, m.path("d/f1"), "one")
	writeFile(t, m.path("d/f2"), "two")
	writeFile(t, m.path("keep"), "keep")
	open1 := openRead(t, m.path("d/f1"), "one")
	if err := m.l.KeyDelete(keyring.DefaultKeyName); err == nil {
		t.Fatal("deleted the SSE-S3 key")
	}
	if err := m.l.KeyDelete("doomed"); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "open descriptor", preadErr(open1, "one"), syscall.EKEYREVOKED)
	wantErrno(t, "read", readErr(t, m.path("d/f2"), ""), syscall.EKEYREVOKED)
	open1.Close()
	m.remount()
	wantErrno(t, "after remount", readErr(t, m.path("d/f1"), ""), syscall.EKEYREVOKED)
	if err := m.l.KeyCreate("doomed"); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "after re-creating the name", readErr(t, m.path("d/f1"), ""), syscall.EKEYREVOKED)
	if st := sseOf(t, m.path("d/f2")).Status; st != "deleted" {
		t.Fatalf("status %q", st)
	}
	lost, err := m.l.Unrecoverable()
	if err != nil || len(lost) != 2 {
		t.Fatalf("Unrecoverable = %v, %v; want 2 objects", lost, err)
	}
	if err := readErr(t, m.path("keep"), "keep"); err != nil {
		t.Fatal(err)
	}
	// New files in the directory use the re-created key, which works.
	writeFile(t, m.path("d/new"), "new")
	if err := readErr(t, m.path("d/new"), "new"); err != nil {
		t.Fatal(err)
	}
}

// treeHash fingerprints the names and bytes of every file under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(p)
		b.WriteString(p)
		b.Write(data)
		return nil
	})
	return b.String()
}

// Old versions are under the object's key too: a seal also locks an open
// descriptor on the read-only versions view, page cache included.
func TestKMSSealLocksVersionsView(t *testing.T) {
	m := newTestMount(t)
	writeFile(t, m.path("f"), "old version")
	writeFile(t, m.path("f"), "new version")
	ents := versionEntries(t, m, "f")
	if len(ents) != 2 {
		t.Fatalf("versions %v", ents)
	}
	old := openRead(t, m.path(".ssefs/versions/f/"+ents[0]), "old version")
	if err := m.l.KMSSeal(); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "open version descriptor", preadErr(old, "old version"), syscall.ENOKEY)
	wantErrno(t, "new open of a version", readErr(t, m.path(".ssefs/versions/f/"+ents[0]), ""), syscall.ENOKEY)
	if err := m.l.KMSUnseal(m.mk); err != nil {
		t.Fatal(err)
	}
	if err := preadErr(old, "old version"); err != nil {
		t.Fatalf("after unseal: %v", err)
	}
}
