// Connection from the environment (PGHOST, PGPORT, PGDATABASE); the role
// from SEQ_USER: the table owner runs migrations, the app role the app.
module.exports = {
  development: {
    dialect: 'postgres',
    host: process.env.PGHOST,
    port: Number(process.env.PGPORT),
    database: process.env.PGDATABASE,
    username: process.env.SEQ_USER,
    logging: false,
  },
};
