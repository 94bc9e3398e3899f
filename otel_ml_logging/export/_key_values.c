/* OTLP JSON ``KeyValue`` items of attribute groups, written in one pass (the fast path's encoder).
 *
 * encode(attributes) returns the bytes of ``orjson.dumps(plain_key_values(attributes))[1:-1]``: the
 * items of the ``KeyValue`` list, comma-separated, without the brackets. It handles the values
 * predictions carry (exact str, bool, int within 64 bits, finite float) and returns None for any
 * other group, which the caller then encodes in Python. Floats are written as Python's repr (shortest
 * round-trip), the same numbers orjson writes.
 *
 * encode_groups(...) is GroupEncoder._encode of key_values.py: an item's groups joined, each looked up
 * in (or added to) the prediction's table by id, shared groups remembered once for all.
 *
 * Both are held to the Python encoder by tests/plugin/export/test_key_values.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *data;
    Py_ssize_t length;
    Py_ssize_t capacity;
} Buffer;

static int reserve(Buffer *buffer, Py_ssize_t extra) {
    if (buffer->length + extra <= buffer->capacity) {
        return 0;
    }
    Py_ssize_t capacity = buffer->capacity * 2;
    if (capacity < buffer->length + extra) {
        capacity = buffer->length + extra;
    }
    char *data = PyMem_Realloc(buffer->data, (size_t)capacity);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return 0;
}

static int put(Buffer *buffer, const char *text, Py_ssize_t length) {
    if (reserve(buffer, length) < 0) {
        return -1;
    }
    memcpy(buffer->data + buffer->length, text, (size_t)length);
    buffer->length += length;
    return 0;
}

#define PUT_LITERAL(buffer, literal) put((buffer), (literal), (Py_ssize_t)(sizeof(literal) - 1))

/* A JSON string: '"' and '\\' escaped, control characters as \b \f \n \r \t or \u00XX, the rest as
 * UTF-8. Returns 1 when the text is not valid UTF-8 (lone surrogates): the caller falls back. */
static int put_string(Buffer *buffer, PyObject *text) {
    Py_ssize_t length;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &length);
    if (utf8 == NULL) {
        PyErr_Clear();
        return 1;
    }
    if (reserve(buffer, length * 6 + 2) < 0) {
        return -1;
    }
    char *out = buffer->data + buffer->length;
    *out++ = '"';
    for (Py_ssize_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)utf8[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *out++ = (char)c;
            continue;
        }
        *out++ = '\\';
        switch (c) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        default:
            out += sprintf(out, "u%04x", c);
        }
    }
    *out++ = '"';
    buffer->length = out - buffer->data;
    return 0;
}

/* The ``AnyValue`` of one attribute value. Returns 1 for a value left to Python. */
static int put_value(Buffer *buffer, PyObject *value) {
    if (PyUnicode_CheckExact(value)) {
        if (PUT_LITERAL(buffer, "{\"stringValue\":") < 0) {
            return -1;
        }
        int status = put_string(buffer, value);
        if (status != 0) {
            return status;
        }
        return PUT_LITERAL(buffer, "}");
    }
    if (PyFloat_CheckExact(value)) {
        double number = PyFloat_AS_DOUBLE(value);
        if (!isfinite(number)) {
            return 1;
        }
        char *repr = PyOS_double_to_string(number, 'r', 0, 0, NULL);
        if (repr == NULL) {
            return -1;
        }
        int status = PUT_LITERAL(buffer, "{\"doubleValue\":");
        if (status == 0) {
            status = put(buffer, repr, (Py_ssize_t)strlen(repr));
        }
        PyMem_Free(repr);
        if (status < 0) {
            return -1;
        }
        return PUT_LITERAL(buffer, "}");
    }
    if (value == Py_True) {
        return PUT_LITERAL(buffer, "{\"boolValue\":true}");
    }
    if (value == Py_False) {
        return PUT_LITERAL(buffer, "{\"boolValue\":false}");
    }
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow != 0) {
            return 1;
        }
        if (number == -1 && PyErr_Occurred()) {
            return -1;
        }
        char digits[48];
        int length = snprintf(digits, sizeof(digits), "{\"intValue\":\"%lld\"}", number);
        return put(buffer, digits, (Py_ssize_t)length);
    }
    return 1;
}

/* The items of one dict: bytes, or None for a group left to Python. */
static PyObject *encode_dict(PyObject *attributes) {
    Buffer buffer = {PyMem_Malloc(256), 0, 256};
    if (buffer.data == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t position = 0;
    PyObject *key, *value;
    int status = 0;
    while (status == 0 && PyDict_Next(attributes, &position, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            status = 1;
            break;
        }
        if (buffer.length > 0 && PUT_LITERAL(&buffer, ",") < 0) {
            status = -1;
            break;
        }
        if (PUT_LITERAL(&buffer, "{\"key\":") < 0) {
            status = -1;
            break;
        }
        status = put_string(&buffer, key);
        if (status == 0) {
            status = PUT_LITERAL(&buffer, ",\"value\":");
        }
        if (status == 0) {
            status = put_value(&buffer, value);
        }
        if (status == 0) {
            status = PUT_LITERAL(&buffer, "}");
        }
    }
    PyObject *result = NULL;
    if (status == 0) {
        result = PyBytes_FromStringAndSize(buffer.data, buffer.length);
    } else if (status == 1) {
        result = Py_NewRef(Py_None);
    }
    PyMem_Free(buffer.data);
    return result;
}

static PyObject *encode(PyObject *module, PyObject *attributes) {
    (void)module;
    if (!PyDict_Check(attributes)) {
        PyErr_SetString(PyExc_TypeError, "attributes must be a dict");
        return NULL;
    }
    return encode_dict(attributes);
}

/* One group's items: from the prediction's table, else encoded (here or by ``fallback``) and added to
 * it, and remembered in ``shared`` when the group is of ``shared_type``. New reference. */
static PyObject *group_items(PyObject *group, PyObject *converted, PyObject *shared, PyObject *alive,
                             PyObject *shared_type, Py_ssize_t limit, PyObject *fallback) {
    PyObject *key = PyLong_FromVoidPtr(group); /* id(group) */
    if (key == NULL) {
        return NULL;
    }
    PyObject *encoded = PyDict_GetItemWithError(converted, key);
    if (encoded != NULL) {
        Py_DECREF(key);
        return Py_NewRef(encoded);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    encoded = PyDict_Check(group) ? encode_dict(group) : Py_NewRef(Py_None);
    if (encoded == Py_None) {
        Py_DECREF(encoded);
        encoded = PyObject_CallOneArg(fallback, group);
    }
    if (encoded == NULL || !PyBytes_Check(encoded)) {
        if (encoded != NULL) {
            PyErr_SetString(PyExc_TypeError, "the fallback encoder must return bytes");
            Py_DECREF(encoded);
        }
        Py_DECREF(key);
        return NULL;
    }
    int failed = PyDict_SetItem(converted, key, encoded) < 0;
    if (!failed && (PyObject *)Py_TYPE(group) == shared_type && PyDict_GET_SIZE(shared) < limit) {
        failed = PyDict_SetItem(shared, key, encoded) < 0 || PyList_Append(alive, group) < 0;
    }
    Py_DECREF(key);
    if (failed) {
        Py_DECREF(encoded);
        return NULL;
    }
    return encoded;
}

static PyObject *encode_groups(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "encode_groups(shared, alive, shared_type, limit, fallback, groups, converted)");
        return NULL;
    }
    PyObject *shared = args[0], *alive = args[1], *shared_type = args[2], *fallback = args[4];
    PyObject *groups = args[5], *converted = args[6];
    Py_ssize_t limit = PyLong_AsSsize_t(args[3]);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (!PyDict_Check(shared) || !PyList_Check(alive) || !PyTuple_Check(groups) || !PyDict_Check(converted)) {
        PyErr_SetString(PyExc_TypeError, "encode_groups: shared and converted must be dicts, alive a list, groups a tuple");
        return NULL;
    }
    Buffer buffer = {PyMem_Malloc(1024), 0, 1024};
    if (buffer.data == NULL) {
        return PyErr_NoMemory();
    }
    int status = 0;
    Py_ssize_t count = PyTuple_GET_SIZE(groups);
    for (Py_ssize_t i = 0; i < count && status == 0; i++) {
        PyObject *group = PyTuple_GET_ITEM(groups, i);
        int truth = PyDict_Check(group) ? PyDict_GET_SIZE(group) > 0 : PyObject_IsTrue(group);
        if (truth <= 0) {
            status = truth;
            continue;
        }
        PyObject *encoded = group_items(group, converted, shared, alive, shared_type, limit, fallback);
        if (encoded == NULL) {
            status = -1;
            break;
        }
        if (buffer.length > 0) {
            status = PUT_LITERAL(&buffer, ",");
        }
        if (status == 0) {
            status = put(&buffer, PyBytes_AS_STRING(encoded), PyBytes_GET_SIZE(encoded));
        }
        Py_DECREF(encoded);
    }
    PyObject *result = status == 0 ? PyBytes_FromStringAndSize(buffer.data, buffer.length) : NULL;
    PyMem_Free(buffer.data);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_O,
     "encode(attributes, /)\n--\n\n"
     "The OTLP JSON KeyValue items of a dict of str, bool, int and float values, comma-separated; "
     "None when a key or value needs the Python encoder."},
    {"encode_groups", (PyCFunction)(void (*)(void))encode_groups, METH_FASTCALL,
     "encode_groups(shared, alive, shared_type, limit, fallback, groups, converted, /)\n--\n\n"
     "The KeyValue items of disjoint attribute groups, comma-separated, each group encoded once per "
     "prediction (its bytes kept in converted by id) and once for all when of shared_type (in shared, the "
     "group kept alive in alive, up to limit groups); groups encode() declines go through fallback."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "otel_ml_logging.export._key_values",
    .m_doc = "OTLP JSON KeyValue items of an attribute group, written in C (key_values.py has the fallback).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__key_values(void) { return PyModule_Create(&module); }
