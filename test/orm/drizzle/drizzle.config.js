// Connection from the environment (PGHOST, PGPORT, PGDATABASE); the role
// from DZ_USER (the table owner runs migrations and introspection); DZ_OUT
// redirects `drizzle-kit pull` output.
module.exports = {
  dialect: 'postgresql',
  schema: './schema.js',
  out: process.env.DZ_OUT || './drizzle',
  dbCredentials: {
    host: process.env.PGHOST,
    port: Number(process.env.PGPORT),
    database: process.env.PGDATABASE,
    user: process.env.DZ_USER,
    ssl: false,
  },
};
