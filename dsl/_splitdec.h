/* Decimal arithmetic of the default context (28 digits, half-even) on scaled integers, for
   _splitcore.c.  A value is ± c × 10^e with c < 10^28 (every result is rounded back to 28
   digits, as Python's Decimal operations round theirs).  Each operation gives Python's
   result exactly or returns 1 (not representable here: the caller falls back); the sign of
   a zero is not kept (nothing the split returns depends on it). */
#include <stdint.h>

typedef unsigned __int128 u128;
typedef __int128 i128;

#define DEC_PREC 28
#define DEC_EXP_LIMIT 9000      /* exponents kept far inside the context's Emin and Emax */

typedef struct {
    u128 c;
    int64_t e;
    int neg;
} dec;

static u128 P10[39];

static void dec_init(void)
{
    P10[0] = 1;
    for (int i = 1; i < 39; i++) P10[i] = P10[i - 1] * 10;
}

static inline u128 dec_p10(int64_t k) { return P10[k]; }

/* The number of decimal digits of x (1 for 0); x < 10^38. */
static inline int dec_digits(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    int bits = hi ? 128 - __builtin_clzll(hi) : (lo ? 64 - __builtin_clzll(lo) : 1);
    int t = (bits * 1233) >> 12;            /* ≈ bits × log10(2) (Bit Twiddling Hacks) */
    int d = t - (x < P10[t]) + 1;
    if (d == 0) return 1;                   /* 0 */
    return d < 39 && x >= P10[d] ? d + 1 : d;
}

static inline int64_t dec_adjusted(const dec *x) { return x->e + dec_digits(x->c) - 1; }

/* Rounds to 28 digits, half-even, as the context does after each operation. */
static int __attribute__((noinline)) dec_round(dec *x)
{
    {
        int d = dec_digits(x->c);
        int k = d - DEC_PREC;
        u128 p = P10[k], q = x->c / p, r = x->c - q * p, half = p / 2;
        if (r > half || (r == half && (q & 1))) q++;
        if (q == P10[DEC_PREC]) {
            q = P10[DEC_PREC - 1];
            k++;
        }
        x->c = q;
        x->e += k;
    }
    return x->e > DEC_EXP_LIMIT || x->e < -DEC_EXP_LIMIT;
}

static inline int dec_finalize(dec *x)
{
    if (x->c >= P10[DEC_PREC]) return dec_round(x);
    return x->e > DEC_EXP_LIMIT || x->e < -DEC_EXP_LIMIT;
}

/* Decimal's str(): [-]digits[.digits][E±digits] (e with capitals=0).  NaN and Infinity,
   and more than 28 digits, are not representable here. */
static int dec_parse(const char *s, Py_ssize_t n, dec *x)
{
    Py_ssize_t i = 0;
    int point = 0, count = 0;
    int64_t places = 0, exp = 0;
    uint64_t head = 0;                      /* the first 19 digits in 64 bits: cheaper */
    u128 c = 0;
    x->neg = 0;
    if (i < n && s[i] == '-') x->neg = 1, i++;
    for (; i < n; i++) {
        char ch = s[i];
        if (ch >= '0' && ch <= '9') {
            if (++count <= 19) {
                head = head * 10 + (uint64_t)(ch - '0');
                c = head;
            } else {
                if (count > 38) return 1;
                c = c * 10 + (u128)(ch - '0');
            }
            places += point;
        } else if (ch == '.' && !point) {
            point = 1;
        } else {
            break;
        }
    }
    if (count == 0) return 1;
    if (i < n && (s[i] == 'E' || s[i] == 'e')) {
        int minus = 0, expdigits = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) minus = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (++expdigits > 9) return 1;
            exp = exp * 10 + (s[i] - '0');
        }
        if (expdigits == 0) return 1;
        if (minus) exp = -exp;
    }
    if (i != n || c >= P10[DEC_PREC]) return 1;
    x->c = c;
    x->e = exp - places;
    return x->e > DEC_EXP_LIMIT || x->e < -DEC_EXP_LIMIT;
}

static inline dec dec_from_int(i128 v)
{
    dec x = {(u128)(v < 0 ? -v : v), 0, v < 0};
    return x;
}

/* z = a + b, rounded.  When aligning the operands would pass 37 digits, the smaller one lies
   ten or more digits below the larger's leading digit: it is cut 31 digits below that digit
   with one sticky digit kept, which rounds the same (no tie or boundary lies between). */
static int dec_add(dec *z, const dec *a, const dec *b)
{
    const dec *hi = a->e >= b->e ? a : b, *lo = a->e >= b->e ? b : a;
    int64_t shift = hi->e - lo->e, e;
    u128 H, L;
    if (hi->c == 0) {                   /* 0 + x: x, at the smaller exponent */
        *z = *lo;
        if (lo->c == 0) z->neg = a->neg && b->neg;
        return dec_finalize(z);
    }
    int dh = dec_digits(hi->c);
    if (shift + dh <= 37) {
        H = hi->c * P10[shift];
        L = lo->c;
        e = lo->e;
    } else if (lo->c == 0) {            /* x + 0 with 0 far below: x padded to 28 digits */
        z->c = hi->c * P10[DEC_PREC - dh];
        z->e = hi->e - (DEC_PREC - dh);
        z->neg = hi->neg;
        return dec_finalize(z);
    } else {
        int64_t cut = hi->e + dh - 1 - 31, t = cut - lo->e;
        u128 trunc = 0;
        int sticky = 1;
        if (t <= 38) {
            trunc = lo->c / P10[t];
            sticky = lo->c % P10[t] != 0;
        }
        e = cut - 1;
        H = hi->c * P10[hi->e - e];
        L = trunc * 10 + (u128)sticky;
    }
    if (hi->neg == lo->neg) {
        z->c = H + L;
        z->neg = hi->neg;
    } else if (H >= L) {
        z->c = H - L;
        z->neg = hi->neg;
    } else {
        z->c = L - H;
        z->neg = lo->neg;
    }
    if (z->c == 0) z->neg = 0;
    z->e = e;
    return dec_finalize(z);
}

/* z = a × b, rounded; both coefficients below 10^28. */
static int dec_mul(dec *z, const dec *a, const dec *b)
{
    u128 p;
    int neg = a->neg ^ b->neg;
    int64_t e = a->e + b->e;
    if (!__builtin_mul_overflow(a->c, b->c, &p) && p < P10[38]) {
        z->c = p, z->e = e, z->neg = neg;
        return dec_finalize(z);
    }
    /* hi × 10^28 + lo, from 14-digit halves (each partial product below 2 × 10^28) */
    u128 s = P10[14], a1 = a->c / s, a0 = a->c % s, b1 = b->c / s, b0 = b->c % s;
    u128 mid = a1 * b0 + a0 * b1, lo = a0 * b0 + (mid % s) * s;
    u128 hi = a1 * b1 + mid / s + lo / P10[28];
    lo %= P10[28];
    int dh = dec_digits(hi);            /* hi > 0: the product has 28 + dh digits */
    u128 q = hi * P10[DEC_PREC - dh] + lo / P10[dh], r = lo % P10[dh], half = P10[dh] / 2;
    if (r > half || (r == half && (q & 1))) q++;
    if (q == P10[DEC_PREC]) {
        q = P10[DEC_PREC - 1];
        e++;
    }
    z->c = q, z->e = e + dh, z->neg = neg;
    return dec_finalize(z);
}

/* z = a ÷ b (b ≠ 0), rounded: 28 digits by long division, nine at a time; an exact quotient
   keeps the exponent nearest a.e − b.e, as libmpdec's does. */
static int dec_div(dec *z, const dec *a, const dec *b)
{
    int neg = a->neg ^ b->neg;
    int64_t ideal = a->e - b->e, e;
    if (a->c == 0) {
        z->c = 0, z->e = ideal, z->neg = 0;
        return dec_finalize(z);
    }
    u128 d = b->c, q = a->c / d, r = a->c - q * d;
    int64_t k = 0;
    int dq = q ? dec_digits(q) : 0;
    while (dq < DEC_PREC) {
        int t = DEC_PREC - dq > 9 ? 9 : DEC_PREC - dq;
        u128 rr = r * P10[t];
        u128 digits = rr / d;
        q = q * P10[t] + digits;
        r = rr - digits * d;
        k += t;
        dq = q ? dec_digits(q) : 0;
    }
    e = ideal - k;
    if (r == 0) {
        while (e < ideal && q % 10 == 0) q /= 10, e++;
    } else {
        u128 twice = r * 2;
        if (twice > d || (twice == d && (q & 1))) q++;
        if (q == P10[DEC_PREC]) {
            q = P10[DEC_PREC - 1];
            e++;
        }
    }
    z->c = q, z->e = e, z->neg = neg;
    return dec_finalize(z);
}

static int dec_cmp(const dec *a, const dec *b)
{
    int sa = a->c == 0 ? 0 : (a->neg ? -1 : 1), sb = b->c == 0 ? 0 : (b->neg ? -1 : 1);
    if (sa != sb) return sa < sb ? -1 : 1;
    if (sa == 0) return 0;
    int64_t xa = dec_adjusted(a), xb = dec_adjusted(b);
    int m;
    if (xa != xb) {
        m = xa < xb ? -1 : 1;
    } else {        /* the same leading digit's place: aligned, both stay below 10^28 */
        u128 x = a->c, y = b->c;
        if (a->e > b->e) x *= P10[a->e - b->e];
        else if (b->e > a->e) y *= P10[b->e - a->e];
        m = x < y ? -1 : x > y;
    }
    return sa > 0 ? m : -m;
}

/* math.floor of x, whose adjusted exponent is below 28. */
static i128 dec_floor(const dec *x)
{
    if (x->e >= 0) {
        i128 v = (i128)(x->c * P10[x->e]);
        return x->neg ? -v : v;
    }
    int64_t k = -x->e;
    u128 q = k > 38 ? 0 : x->c / P10[k];
    int rest = k > 38 ? x->c != 0 : x->c % P10[k] != 0;
    return x->neg ? -(i128)q - rest : (i128)q;
}

/* x.to_integral_value(half_up or half_even), whose adjusted exponent is below 28. */
static i128 dec_to_integral(const dec *x, int half_up)
{
    if (x->e >= 0) {
        i128 v = (i128)(x->c * P10[x->e]);
        return x->neg ? -v : v;
    }
    int64_t k = -x->e;
    u128 q = 0;
    if (k <= 38) {
        u128 r = x->c % P10[k], twice = r * 2;
        q = x->c / P10[k];
        if (twice > P10[k] || (twice == P10[k] && (half_up || (q & 1)))) q++;
    }
    return x->neg ? -(i128)q : (i128)q;
}

/* Indices 0..n-1 sorted by keys, ascending and stable (as sorted() is): a merge sort. */
static void dec_sort(const dec *keys, Py_ssize_t n, Py_ssize_t *order, Py_ssize_t *tmp)
{
    for (Py_ssize_t i = 0; i < n; i++) order[i] = i;
    for (Py_ssize_t width = 1; width < n; width *= 2) {
        for (Py_ssize_t lo = 0; lo < n; lo += 2 * width) {
            Py_ssize_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            Py_ssize_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = dec_cmp(&keys[order[j]], &keys[order[i]]) < 0 ? order[j++] : order[i++];
            while (i < mid) tmp[k++] = order[i++];
            while (j < hi) tmp[k++] = order[j++];
        }
        memcpy(order, tmp, (size_t)n * sizeof(Py_ssize_t));
    }
}

/* f"{v}" of an int below 10^38 in magnitude; returns the length. */
static int dec_int_text(i128 v, char *buf)
{
    char rev[48];
    int n = 0, len = 0;
    u128 m = (u128)(v < 0 ? -v : v);
    while (m >> 64) {                   /* 128-bit division only past 2^64 */
        rev[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    }
    uint64_t small = (uint64_t)m;
    do {
        rev[n++] = (char)('0' + (int)(small % 10));
        small /= 10;
    } while (small);
    if (v < 0) buf[len++] = '-';
    while (n) buf[len++] = rev[--n];
    return len;
}
