import nodemailer, { type Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { SmtpSettings } from '../settings';

export interface OutgoingMail {
  from: string;
  to: readonly string[];
  replyTo?: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  date: Date;
  headers?: Record<string, string>;
  attachments?: Array<{ filename: string; content: string; contentType: string }>;
}

/**
 * The whole RFC 5322 message is built here first, so the bytes that are hashed for the proof of
 * delivery are exactly the bytes handed to the SMTP server.
 */
export async function composeMail(mail: OutgoingMail): Promise<Buffer> {
  const composer = new MailComposer({
    from: mail.from,
    to: [...mail.to],
    ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    date: mail.date,
    headers: { 'Auto-Submitted': 'auto-generated', ...(mail.headers ?? {}) },
    attachments: (mail.attachments ?? []).map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType })),
  });
  const built = await new Promise<Buffer>((resolve, reject) => {
    composer.compile().build((err, message) => (err ? reject(err) : resolve(message)));
  });
  return toCrlf(built);
}

/**
 * SMTP carries CRLF line ends, and nodemailer's transport rewrites bare LFs on the way out; doing
 * it here first makes the hashed bytes the transmitted bytes (latin1 keeps every byte as it is).
 */
export function toCrlf(message: Buffer): Buffer {
  return Buffer.from(message.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

export interface SmtpReceipt {
  response: string;
  messageId?: string;
  accepted: string[];
  rejected: string[];
}

export type SmtpOutcome = { ok: true; receipt: SmtpReceipt } | { ok: false; error: unknown };

/** The bare address out of `Name <addr>`, for the SMTP envelope. */
export function envelopeAddress(from: string): string {
  const m = /<([^>]+)>\s*$/.exec(from);
  return (m ? m[1]! : from).trim();
}

export class Mailer {
  readonly #transport: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(settings: SmtpSettings) {
    this.#transport = nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      requireTLS: !settings.secure && settings.requireTls,
      ignoreTLS: false,
      tls: { rejectUnauthorized: settings.rejectUnauthorized },
      ...(settings.user && settings.password ? { auth: { user: settings.user, pass: settings.password } } : {}),
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
  }

  async send(raw: Buffer, envelope: { from: string; to: readonly string[] }): Promise<SmtpOutcome> {
    try {
      const info = await this.#transport.sendMail({ envelope: { from: envelopeAddress(envelope.from), to: [...envelope.to] }, raw });
      return {
        ok: true,
        receipt: {
          response: String(info.response ?? ''),
          ...(info.messageId ? { messageId: info.messageId } : {}),
          accepted: (info.accepted ?? []).map(String),
          rejected: (info.rejected ?? []).map(String),
        },
      };
    } catch (err) {
      return { ok: false, error: err };
    }
  }

  close(): void {
    this.#transport.close();
  }
}
