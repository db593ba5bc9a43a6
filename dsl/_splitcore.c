/* trimtab.dsl._splitcore: a split's shares (kinds/split.split_shares) in C, optional.

   The Python path stays the reference: this module gives the same Amounts, bit for bit,
   or says it cannot (returns None) and the Python path runs.  It mirrors the Python path's
   decimal arithmetic step by step — each +, × and ÷ rounded to 28 digits, half-even, as the
   default decimal context does — on scaled integers: a coefficient below 10^28 in an
   unsigned __int128 (gcc or clang on a 64-bit machine; elsewhere the build fails and
   setup.py leaves the module out) and an exponent.  It returns None when an operand or a
   result does not fit (more than 28 digits in, an exponent past ±9000), when the decimal
   context is not the one it mirrors (precision 28, half-even, no trap on Inexact or
   Rounded), and where the Python path would raise or refuse (no weight to share
   by, an amount past 28 digits, a scale that is not a power of ten): the Python path then
   decides, raises or refuses as it always has.  The context's flags are not raised here.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_splitdec.h"

/* ------------------------------------------------------------------ from Python objects */
static PyObject *DecimalType, *GetContext, *Inexact, *Rounded, *HalfEven;
static PyObject *S_prec, *S_rounding, *S_Emax, *S_Emin, *S_traps, *S_beyond, *S_reason;

/* 0: read; 1: not representable here (the Python path decides); -1: a Python error. */
static int read_number(PyObject *o, PyObject *amount, dec *x)
{
    if (PyLong_CheckExact(o)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (v == -1 && PyErr_Occurred()) return -1;
        if (overflow || v > 999999999999999999LL || v < -999999999999999999LL) return 1;
        x->neg = v < 0;
        x->c = (u128)(v < 0 ? -v : v);
        x->e = 0;
        return 0;
    }
    if (Py_TYPE(o) != (PyTypeObject *)DecimalType &&
        ((PyObject *)Py_TYPE(o) != amount || Py_TYPE(o)->tp_str != ((PyTypeObject *)DecimalType)->tp_str))
        return 1;
    PyObject *s = Py_TYPE(o)->tp_str(o);      /* Decimal's own str(): no subclass overrides it */
    if (s == NULL) return -1;
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(s, &n);
    int got = p == NULL ? -1 : dec_parse(p, n, x);
    Py_DECREF(s);
    return got;
}

/* 1 when the current decimal context is the one the arithmetic here mirrors. */
static int __attribute__((noinline)) context_ok(void)
{
    PyObject *ctx = PyObject_CallNoArgs(GetContext);
    if (ctx == NULL) return -1;
    int ok = 0;
    PyObject *v = PyObject_GetAttr(ctx, S_prec);
    if (v == NULL) goto fail;
    ok = PyLong_AsLong(v) == DEC_PREC;
    Py_DECREF(v);
    if (!ok) goto done;
    v = PyObject_GetAttr(ctx, S_rounding);
    if (v == NULL) goto fail;
    ok = PyObject_RichCompareBool(v, HalfEven, Py_EQ);
    Py_DECREF(v);
    if (ok != 1) goto done;
    v = PyObject_GetAttr(ctx, S_Emax);
    if (v == NULL) goto fail;
    ok = PyLong_AsLong(v) >= 10 * DEC_EXP_LIMIT;
    Py_DECREF(v);
    if (!ok) goto done;
    v = PyObject_GetAttr(ctx, S_Emin);
    if (v == NULL) goto fail;
    ok = PyLong_AsLong(v) <= -10 * DEC_EXP_LIMIT;
    Py_DECREF(v);
    if (!ok) goto done;
    PyObject *traps = PyObject_GetAttr(ctx, S_traps);
    if (traps == NULL) goto fail;
    PyObject *signals[2] = {Inexact, Rounded};
    for (int i = 0; i < 2 && ok == 1; i++) {
        v = PyObject_GetItem(traps, signals[i]);
        if (v == NULL) { Py_DECREF(traps); goto fail; }
        ok = PyObject_IsTrue(v) == 0;
        Py_DECREF(v);
    }
    Py_DECREF(traps);
done:
    Py_DECREF(ctx);
    if (PyErr_Occurred()) return -1;
    return ok == 1;
fail:
    Py_DECREF(ctx);
    return -1;
}

/* ------------------------------------------------------------------ the rule's constants */
typedef struct {
    Py_ssize_t width;
    dec *weights;
    int64_t shift, places;      /* the step is 10^-shift; amounts written with `places` */
    int half_up;                /* the scale's mode: half_up, else half_even */
    int adjust, has_limit, rebalance;
    dec band, limit;
    PyObject *amount;           /* the Amount type */
    PyObject *fields;           /* the weights' item fields: rows are the list's items, or NULL */
    int plain_new;              /* Amount(text) is Amount's tp_new alone (no __init__) */
} plan_t;

static void plan_free(PyObject *capsule)
{
    plan_t *p = PyCapsule_GetPointer(capsule, "trimtab.splitplan");
    if (p == NULL) return;
    Py_XDECREF(p->amount);
    Py_XDECREF(p->fields);
    PyMem_Free(p->weights);
    PyMem_Free(p);
}

/* plan(weights, shift, places, half_up, band, limit, rebalance, Amount, fields) → a capsule,
   or None when a constant is not representable here.  band None: the rule has no adjustment;
   fields None: shares() is given rows of scores, else the list's items (dicts) and reads
   these fields of each. */
static PyObject *plan(PyObject *self, PyObject *args)
{
    PyObject *weights, *band, *limit, *amount, *fields;
    long long shift, places;
    int half_up, rebalance;
    if (!PyArg_ParseTuple(args, "O!LLpOOpO!O", &PyList_Type, &weights, &shift, &places, &half_up,
                          &band, &limit, &rebalance, &PyType_Type, &amount, &fields))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)amount, (PyTypeObject *)DecimalType) ||
        (fields != Py_None && (!PyTuple_CheckExact(fields) || PyTuple_GET_SIZE(fields) != PyList_GET_SIZE(weights))))
        Py_RETURN_NONE;
    if (shift > DEC_EXP_LIMIT || shift < -DEC_EXP_LIMIT || places > 1000 || places < 0)
        Py_RETURN_NONE;
    plan_t *p = PyMem_Calloc(1, sizeof(plan_t));
    if (p == NULL) return PyErr_NoMemory();
    p->width = PyList_GET_SIZE(weights);
    p->weights = PyMem_Calloc(p->width ? p->width : 1, sizeof(dec));
    p->amount = Py_NewRef(amount);
    p->fields = fields == Py_None ? NULL : Py_NewRef(fields);
    p->plain_new = ((PyTypeObject *)amount)->tp_init == PyBaseObject_Type.tp_init;
    p->shift = shift, p->places = places, p->half_up = half_up, p->rebalance = rebalance;
    int got = p->weights == NULL ? -1 : 0;
    for (Py_ssize_t j = 0; j < p->width && got == 0; j++)
        got = read_number(PyList_GET_ITEM(weights, j), amount, &p->weights[j]);
    p->adjust = band != Py_None;
    if (got == 0 && p->adjust) got = read_number(band, amount, &p->band);
    p->has_limit = limit != Py_None;
    if (got == 0 && p->has_limit) got = read_number(limit, amount, &p->limit);
    PyObject *capsule = got == 0 ? PyCapsule_New(p, "trimtab.splitplan", plan_free) : NULL;
    if (capsule == NULL) {
        Py_XDECREF(p->amount);
        Py_XDECREF(p->fields);
        PyMem_Free(p->weights);
        PyMem_Free(p);
        if (got == 1) Py_RETURN_NONE;
        if (!PyErr_Occurred()) PyErr_NoMemory();
    }
    return capsule;
}

/* ------------------------------------------------------------------ amounts.allocate */
/* Writes each count of steps as amounts._all_written does for a power-of-ten step:
   Amount(f"{count}{'0' * pad}E-{places}").  NULL with no error: not written here. */
static PyObject *written(const i128 *counts, Py_ssize_t n, const plan_t *p)
{
    int64_t pad = p->places - p->shift;
    if (pad < 0 || pad > DEC_PREC) return NULL;
    i128 fits = (i128)dec_p10(DEC_PREC - pad);
    for (Py_ssize_t i = 0; i < n; i++)
        if (counts[i] <= -fits || counts[i] >= fits) return NULL;
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    char buf[128];
    for (Py_ssize_t i = 0; i < n; i++) {
        int len = dec_int_text(counts[i], buf);
        memset(buf + len, '0', (size_t)pad);
        len += (int)pad;
        buf[len++] = 'E', buf[len++] = '-';
        len += dec_int_text(p->places, buf + len);
        /* Amount(text): its type's tp_new, as the call would (Amount has no __init__) */
        PyObject *text = PyUnicode_FromStringAndSize(buf, len);
        PyObject *args = text == NULL ? NULL : PyTuple_Pack(1, text);
        PyObject *a = args == NULL ? NULL : p->plain_new
            ? ((PyTypeObject *)p->amount)->tp_new((PyTypeObject *)p->amount, args, NULL)
            : PyObject_Call(p->amount, args, NULL);
        Py_XDECREF(args);
        Py_XDECREF(text);
        if (a == NULL) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, a);
    }
    return out;
}

/* allocate(values, scale, whole) → a list of Amounts; NULL with no error set: the Python
   path decides (it raises, or writes the amounts its other way).  `work` holds 3n decs and
   2n indices' room. */
static PyObject *allocate(const dec *values, Py_ssize_t n, const dec *whole, const plan_t *p,
                          dec *work, i128 *counts, Py_ssize_t *order)
{
    dec *units = work, *below = work + n, wanted = *whole;
    wanted.e += p->shift;
    if (dec_finalize(&wanted) || dec_adjusted(&wanted) >= DEC_PREC) return NULL;
    i128 sum = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        units[i] = values[i];
        units[i].e += p->shift;
        if (dec_finalize(&units[i]) || dec_adjusted(&units[i]) >= DEC_PREC) return NULL;
        counts[i] = dec_floor(&units[i]);
        sum += counts[i];
    }
    i128 left = dec_to_integral(&wanted, p->half_up) - sum;
    if (left && n) {                            /* no values: nothing to hand units to, as in Python */
        for (Py_ssize_t i = 0; i < n; i++) {   /* below = floor − unit, rounded as Python's */
            dec f = dec_from_int(counts[i]);
            dec u = units[i];
            u.neg = !u.neg;
            if (dec_add(&below[i], &f, &u)) return NULL;
        }
        dec_sort(below, n, order, order + n);
        i128 total = left < 0 ? -left : left, rounds = total / n, extra = total % n;
        for (Py_ssize_t k = 0; k < n; k++) {
            Py_ssize_t i = left < 0 ? order[n - 1 - k] : order[k];
            i128 move = rounds + (k < extra);
            counts[i] += left < 0 ? -move : move;
        }
    }
    return written(counts, n, p);
}

/* ------------------------------------------------------------------ split_shares */
static int read_list(PyObject *list, Py_ssize_t n)
{
    return PyList_Check(list) && PyList_GET_SIZE(list) == n;
}

/* A row's w scores into cells, as read_number reads them.  A dict's lookup may run a key's
   __eq__, which may drop the row from the list: the row is held while it is read. */
static int read_row(PyObject *row, const plan_t *p, Py_ssize_t w, dec *cells)
{
    PyObject **items = NULL;
    if (p->fields != NULL) {                    /* an item: its fields, as it0[name] reads them */
        if (!PyDict_CheckExact(row)) return 1;
    } else if (PyTuple_CheckExact(row) && PyTuple_GET_SIZE(row) == w) {
        items = &PyTuple_GET_ITEM(row, 0);
    } else if (PyList_CheckExact(row) && PyList_GET_SIZE(row) == w) {
        items = &PyList_GET_ITEM(row, 0);       /* read_number runs no Python code: it stays */
    } else {
        return 1;
    }
    if (items != NULL) {
        int got = 0;
        for (Py_ssize_t j = 0; j < w && got == 0; j++) got = read_number(items[j], p->amount, &cells[j]);
        return got;
    }
    int got = 0;
    Py_INCREF(row);
    for (Py_ssize_t j = 0; j < w && got == 0; j++) {
        PyObject *v = PyDict_GetItemWithError(row, PyTuple_GET_ITEM(p->fields, j));
        /* a missing field: the Python path's KeyError */
        got = v != NULL ? read_number(v, p->amount, &cells[j]) : PyErr_Occurred() ? -1 : 1;
    }
    Py_DECREF(row);
    return got;
}

/* shares(total, rows, plan, adjustments, blanks, keys) → (finals, bases, violations) as
   split_shares gives them, or None: the Python path decides. */
static PyObject *shares(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "shares() takes 6 arguments");
        return NULL;
    }
    PyObject *rows = args[1], *adjustments = args[3], *blanks = args[4], *keys = args[5];
    plan_t *p = PyCapsule_GetPointer(args[2], "trimtab.splitplan");
    if (p == NULL) return NULL;
    if (!PyList_Check(rows) || PyList_GET_SIZE(rows) == 0 || p->width == 0) Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(rows), w = p->width;
    if (p->adjust && !(read_list(adjustments, n) && read_list(blanks, n) && read_list(keys, n)))
        Py_RETURN_NONE;
    int ok = context_ok();
    if (ok <= 0) {
        if (ok < 0) return NULL;
        Py_RETURN_NONE;
    }
    /* One block: rows n×w, sums w, exact n, adjustments n, finals n, values n, work 3n;
       counts n; order 2n. */
    size_t decs = (size_t)(n * w + w + 7 * n);
    size_t size = decs * sizeof(dec) + (size_t)n * sizeof(i128) + 2 * (size_t)n * sizeof(Py_ssize_t);
    _Alignas(16) char stack[8192];     /* a split of a few dozen children needs no malloc */
    char *block = size <= sizeof(stack) ? stack : PyMem_Malloc(size);
    if (block == NULL) return PyErr_NoMemory();
    dec *cells = (dec *)block, *sums = cells + n * w, *exact = sums + w, *adj = exact + n;
    dec *finals = adj + n, *values = finals + n, *work = values + n;
    i128 *counts = (i128 *)(block + decs * sizeof(dec));
    Py_ssize_t *order = (Py_ssize_t *)(counts + n);
    PyObject *result = NULL, *bases = NULL, *finals_out = NULL, *violations = NULL;
    int got = 0;
    dec total, zero = {0, 0, 0}, tw = zero, factors[64];
    Py_ssize_t live[64], nlive = 0;
    if (w > 64) goto fallback;

    got = read_number(args[0], p->amount, &total);
    for (Py_ssize_t i = 0; i < n && got == 0; i++) {
        if (PyList_GET_SIZE(rows) != n) goto fallback;     /* changed by a key's __eq__ */
        got = read_row(PyList_GET_ITEM(rows, i), p, w, &cells[i * w]);
    }
    if (got) goto done_got;

    /* sums = [sum(column, ZERO)], live columns, tw = sum of their weights from ZERO */
    for (Py_ssize_t j = 0; j < w; j++) {
        sums[j] = zero;
        for (Py_ssize_t i = 0; i < n; i++)
            if (dec_add(&sums[j], &sums[j], &cells[i * w + j])) goto fallback;
        if (sums[j].c) {
            live[nlive++] = j;
            if (dec_add(&tw, &tw, &p->weights[j])) goto fallback;
        }
    }
    if (!tw.c) goto fallback;                   /* split_shares: None (division by zero) */
    for (Py_ssize_t k = 0; k < nlive; k++) {   /* total × weight ÷ (sum × tw) */
        dec num, den;
        Py_ssize_t j = live[k];
        if (dec_mul(&num, &total, &p->weights[j]) || dec_mul(&den, &sums[j], &tw) ||
            dec_div(&factors[k], &num, &den))
            goto fallback;
    }
    for (Py_ssize_t i = 0; i < n; i++) {       /* 0 + k0 × r0 + k1 × r1 + … */
        exact[i] = zero;
        for (Py_ssize_t k = 0; k < nlive; k++) {
            dec term;
            if (dec_mul(&term, &factors[k], &cells[i * w + live[k]]) || dec_add(&exact[i], &exact[i], &term))
                goto fallback;
        }
    }
    bases = allocate(exact, n, &total, p, work, counts, order);
    if (bases == NULL) goto fallback_or_error;
    violations = PyList_New(0);
    if (violations == NULL) goto error;
    if (!p->adjust) {
        result = PyTuple_Pack(3, bases, bases, violations);
        goto done;
    }

    /* the band: beyond the limit, or beyond the free band without a reason */
    dec one = {1, 0, 0};
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyList_GET_ITEM(adjustments, i), *code = NULL;
        got = read_number(a, p->amount, &adj[i]);
        if (got) goto done_got;
        dec size = adj[i];
        size.neg = 0;
        if (p->has_limit && dec_cmp(&size, &p->limit) > 0) code = S_beyond;
        else if (dec_cmp(&size, &p->band) > 0) {
            /* is_blank's bools; another object's __bool__ could change these lists under us */
            PyObject *blank = PyList_GET_ITEM(blanks, i);
            if (!PyBool_Check(blank)) goto fallback;
            if (blank == Py_True) code = S_reason;
        }
        if (code != NULL) {
            PyObject *v = PyTuple_Pack(3, PyList_GET_ITEM(keys, i), a, code);
            if (v == NULL || PyList_Append(violations, v)) { Py_XDECREF(v); goto error; }
            Py_DECREF(v);
        }
        dec factor;                             /* b × (1 + a) */
        if (dec_add(&factor, &one, &adj[i]) || dec_mul(&finals[i], &exact[i], &factor)) goto fallback;
    }
    dec whole = zero;
    for (Py_ssize_t i = 0; i < n; i++)
        if (dec_add(&whole, &whole, &finals[i])) goto fallback;
    if (!p->rebalance) {
        finals_out = allocate(finals, n, &whole, p, work, counts, order);
    } else {                                    /* _rebalanced */
        /* room = sum(bases[i] for i in free): in the order the set `free` of _rebalanced
           iterates (8 comes before 3 in {3, 6, 8}), which the rounding of the sum can tell
           apart; so the same set is built and iterated here. */
        dec room = zero;
        PyObject *free = PySet_New(NULL), *iter = NULL, *index;
        for (Py_ssize_t i = 0; i < n && free != NULL; i++) {
            if (adj[i].c) continue;
            PyObject *k = PyLong_FromSsize_t(i);
            if (k == NULL || PySet_Add(free, k)) Py_CLEAR(free);
            Py_XDECREF(k);
        }
        iter = free == NULL ? NULL : PyObject_GetIter(free);
        Py_XDECREF(free);
        if (iter == NULL) goto error;
        while ((index = PyIter_Next(iter)) != NULL) {
            Py_ssize_t i = PyLong_AsSsize_t(index);
            Py_DECREF(index);
            if (dec_add(&room, &room, &exact[i])) {
                Py_DECREF(iter);
                goto fallback;
            }
        }
        Py_DECREF(iter);
        if (PyErr_Occurred()) goto error;
        for (Py_ssize_t i = 0; i < n; i++) values[i] = finals[i];
        if (room.c) {
            dec gap, minus = whole;
            minus.neg = !minus.neg;
            if (dec_add(&gap, &total, &minus)) goto fallback;
            for (Py_ssize_t i = 0; i < n; i++) {
                dec t;
                if (!adj[i].c && (dec_mul(&t, &gap, &exact[i]) || dec_div(&t, &t, &room) ||
                                  dec_add(&values[i], &finals[i], &t)))
                    goto fallback;
            }
        } else if (whole.c) {
            for (Py_ssize_t i = 0; i < n; i++)
                if (dec_mul(&values[i], &finals[i], &total) || dec_div(&values[i], &values[i], &whole))
                    goto fallback;
        }
        finals_out = allocate(values, n, &total, p, work, counts, order);
    }
    if (finals_out == NULL) goto fallback_or_error;
    result = PyTuple_Pack(3, finals_out, bases, violations);
    goto done;

done_got:
    if (got < 0) goto error;
fallback:
    result = Py_NewRef(Py_None);
    goto done;
fallback_or_error:
    if (!PyErr_Occurred()) goto fallback;
error:
    result = NULL;
done:
    Py_XDECREF(bases);
    Py_XDECREF(finals_out);
    Py_XDECREF(violations);
    if (block != stack) PyMem_Free(block);
    return result;
}

/* ------------------------------------------------------------------ for the tests */
static PyObject *dec_object(const dec *x)
{
    char buf[96];
    int len = 0;
    if (x->neg) buf[len++] = '-';
    len += dec_int_text((i128)x->c, buf + len);
    buf[len++] = 'E';
    len += dec_int_text(x->e, buf + len);
    buf[len] = 0;
    return PyObject_CallFunction(DecimalType, "s", buf);
}

/* operate(op, a, b): a + b, a * b, a / b or a < b (as -1, 0, 1) as computed here, or None
   where an operand is not representable (tests/test_splitcore.py holds it to Decimal's). */
static PyObject *operate(PyObject *self, PyObject *args)
{
    int op;
    PyObject *a, *b;
    dec x, y, z;
    if (!PyArg_ParseTuple(args, "COO", &op, &a, &b)) return NULL;
    int got = read_number(a, DecimalType, &x);
    if (got == 0) got = read_number(b, DecimalType, &y);
    if (got < 0) return NULL;
    if (got > 0) Py_RETURN_NONE;
    if (op == '<') return PyLong_FromLong(dec_cmp(&x, &y));
    if (op == '+') got = dec_add(&z, &x, &y);
    else if (op == '*') got = dec_mul(&z, &x, &y);
    else if (op == '/' && y.c) got = dec_div(&z, &x, &y);
    else got = 1;
    if (got) Py_RETURN_NONE;
    return dec_object(&z);
}

/* allocate(values, total, plan) → amounts.allocate(values, scale, total) as computed here,
   or None (tests/test_splitcore.py). */
static PyObject *allocate_values(PyObject *self, PyObject *args)
{
    PyObject *values, *total, *capsule;
    if (!PyArg_ParseTuple(args, "O!OO", &PyList_Type, &values, &total, &capsule)) return NULL;
    plan_t *p = PyCapsule_GetPointer(capsule, "trimtab.splitplan");
    if (p == NULL) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(values);
    char *block = PyMem_Malloc((size_t)(n + 1) * (4 * sizeof(dec) + sizeof(i128) + 2 * sizeof(Py_ssize_t)));
    if (block == NULL) return PyErr_NoMemory();
    dec *xs = (dec *)block, *work = xs + n, whole;
    i128 *counts = (i128 *)(work + 3 * (n + 1));
    Py_ssize_t *order = (Py_ssize_t *)(counts + n + 1);
    int got = read_number(total, p->amount, &whole);
    for (Py_ssize_t i = 0; i < n && got == 0; i++) got = read_number(PyList_GET_ITEM(values, i), p->amount, &xs[i]);
    PyObject *out = got ? NULL : allocate(xs, n, &whole, p, work, counts, order);
    PyMem_Free(block);
    if (out == NULL && got >= 0 && !PyErr_Occurred()) Py_RETURN_NONE;
    return out;
}

/* ------------------------------------------------------------------ the module */
static PyMethodDef methods[] = {
    {"plan", plan, METH_VARARGS, "The rule's constants, parsed once (or None)."},
    {"shares", (PyCFunction)(void (*)(void))shares, METH_FASTCALL,
     "(finals, bases, violations) as split_shares gives them, or None: use the Python path."},
    {"operate", operate, METH_VARARGS, "For the tests: one operation as computed here, or None."},
    {"allocate", allocate_values, METH_VARARGS, "For the tests: amounts.allocate as computed here, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_splitcore", NULL, -1, methods};

PyMODINIT_FUNC PyInit__splitcore(void)
{
    dec_init();
    PyObject *decimal = PyImport_ImportModule("decimal");
    if (decimal == NULL) return NULL;
    DecimalType = PyObject_GetAttrString(decimal, "Decimal");
    GetContext = PyObject_GetAttrString(decimal, "getcontext");
    Inexact = PyObject_GetAttrString(decimal, "Inexact");
    Rounded = PyObject_GetAttrString(decimal, "Rounded");
    HalfEven = PyObject_GetAttrString(decimal, "ROUND_HALF_EVEN");
    Py_DECREF(decimal);
    S_prec = PyUnicode_InternFromString("prec");
    S_rounding = PyUnicode_InternFromString("rounding");
    S_Emax = PyUnicode_InternFromString("Emax");
    S_Emin = PyUnicode_InternFromString("Emin");
    S_traps = PyUnicode_InternFromString("traps");
    S_beyond = PyUnicode_InternFromString("beyond_limit");
    S_reason = PyUnicode_InternFromString("reason_required");
    if (!DecimalType || !GetContext || !Inexact || !Rounded || !HalfEven || !S_prec || !S_rounding ||
        !S_Emax || !S_Emin || !S_traps || !S_beyond || !S_reason)
        return NULL;
    return PyModule_Create(&module);
}
