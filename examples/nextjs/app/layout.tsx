import type { ReactNode } from 'react';

export const metadata = { title: 'modelship · Next.js' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ font: '16px/1.4 system-ui, sans-serif', maxWidth: '48rem', margin: '2rem auto', color: '#222' }}>
        {children}
      </body>
    </html>
  );
}
