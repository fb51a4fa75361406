// Secrets shaped like the real thing, shared by the redaction tests.

/** A signed JWT (HS256). */
export const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiaWF0IjoxNzY0MjQ0ODAwfQ.Xk3v9Qm2c7LrT0pWbq8ZfJ1yN4sAaD6uEhGi5oKjHlM';
/** The base64 body of a PEM private key, across two lines. */
export const PEM_BODY = 'MIIEowIBAAKCAQEA1x3kQ9mZ0cW7hQ2y\nVb8nR4tL5pXs+Jf6gHk/3eU2oPq=';
/** An AWS secret access key: 40 characters that no pattern catches without a label. */
export const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Lm2Xk4T';
