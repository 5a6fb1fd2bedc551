import Database from 'better-sqlite3';

/** Users in an embedded tenant, read-only, while an engine may be writing it; 0 before it exists. */
export function tenantCount(path: string): number {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM tenant_users').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet, or its schema not yet written
  }
}
