// A small, exception-free wrapper over SQLite in the spirit of Chromium's sql/: a Database owns
// one connection and caches its prepared statements; a Statement binds, steps and reads columns.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path));
//   ASSIGN_OR_RETURN(Statement* st, db->Cached("SELECT name FROM tenants WHERE id = ?"));
//   st->BindInt64(1, id);
//   ASSIGN_OR_RETURN(bool row, st->Step());
//   if (row) name = st->ColumnText(0);
//
// Thread-compatible: one thread at a time per Database. Errors become absl::Status
// (SQLITE_BUSY/LOCKED -> UNAVAILABLE, constraint -> ALREADY_EXISTS, others -> INTERNAL).
// Only server/store/ uses this.
#ifndef HAC_SERVER_STORE_SQLITE_H_
#define HAC_SERVER_STORE_SQLITE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hac::server::store {

class Database;

// A prepared statement. Owned by its Database's cache or by the caller of Prepare().
class Statement {
 public:
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1.
  void BindInt64(int i, int64_t v);
  void BindText(int i, absl::string_view v);
  // Like BindText without copying: `v` must stay valid until the statement is reset or the
  // parameter bound again (for hot loops over values that outlive each step).
  void BindTextNoCopy(int i, absl::string_view v);
  void BindBlob(int i, absl::string_view v);
  void BindNull(int i);
  // Text, or NULL when empty.
  void BindTextOrNull(int i, absl::string_view v);

  // Steps once: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion (for statements that return no rows).
  absl::Status Run();
  // Resets for re-execution and clears bindings. Cached statements are reset on checkout.
  void Reset();

  // Columns are numbered from 0.
  int64_t ColumnInt64(int i) const;
  // Exact bytes, embedded NULs included.
  std::string ColumnText(int i) const;
  std::string ColumnBlob(int i) const;
  // The bytes of a text or blob column without a copy: valid until the next Step or Reset.
  absl::string_view ColumnView(int i) const;
  bool ColumnIsNull(int i) const;

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Database* db_;
  sqlite3_stmt* stmt_;
};

// One SQLite connection.
class Database {
 public:
  // Opens (creating if needed) the database file with WAL journaling, foreign keys on,
  // synchronous=FULL (a commit is on disk when it returns) and a busy timeout.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  absl::Status Exec(const char* sql);
  // Returns the cached, reset statement for `sql` (a string literal: the cache keys on its
  // text). Valid until the Database is destroyed.
  absl::StatusOr<Statement*> Cached(const char* sql);

  // Resets every cached statement. A statement left mid-result keeps its read transaction (and
  // so an old snapshot in WAL mode) open; call this when a unit of work is done.
  void ResetAll();

  int64_t LastInsertRowId() const;
  int Changes() const;
  // The error status for an SQLite result code, with the connection's message.
  absl::Status Error(int rc, absl::string_view what) const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
};

}  // namespace hac::server::store

#endif  // HAC_SERVER_STORE_SQLITE_H_
