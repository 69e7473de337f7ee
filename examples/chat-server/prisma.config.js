// Prisma 7 reads the connection URL from here (no longer from schema.prisma).
// The URL comes from CHAT_DATABASE_URL, in the environment or in ./.env.
'use strict';

const path = require('node:path');
const { loadDotenv } = require('./src/dotenv');

loadDotenv(path.join(__dirname, '.env'));

module.exports = {
  schema: path.join('prisma', 'schema.prisma'),
  migrations: {
    path: path.join('prisma', 'migrations'),
  },
  datasource: {
    url: process.env.CHAT_DATABASE_URL || '',
  },
};
