"""Built-in datasets, data files (and every way they can be wrong), and the Standardizer."""

import json
import random

import numpy as np
import pytest

from vecprop.datasets import (
    MAX_AUTO_CLASSES,
    DataFileError,
    Dataset,
    Standardizer,
    list_datasets,
    load_data_file,
    load_dataset,
)

GENERATED = ["flower", "moons", "circles", "xor"]

# --------------------------------------------------------------------------- built-ins


def test_list_datasets_names_and_descriptions():
    names = [name for name, _ in list_datasets()]
    assert names == ["circles", "digits", "flower", "mnist1d", "moons", "xor"]
    assert all(isinstance(d, str) and d for _, d in list_datasets())


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(
        ValueError, match="unknown dataset 'iris'; expected one of: circles, digits, flower, mnist1d, moons, xor"
    ):
        load_dataset("iris")


@pytest.mark.parametrize("bad", [0, 1, 2.5, "10"])
def test_bad_n_samples(bad):
    with pytest.raises(ValueError, match="n_samples must be an int >= 2"):
        load_dataset("moons", n_samples=bad)


@pytest.mark.parametrize("name", GENERATED)
def test_generated_datasets(name):
    ds = load_dataset(name)
    assert ds.X.shape == (2, 400) and ds.X.dtype == np.float64
    assert ds.y.shape == (400,) and ds.y.dtype == np.int64
    assert set(np.unique(ds.y)) == {0, 1} and len(ds.target_names) == 2
    assert ds.task == "classification" and ds.name == name and ds.test is None
    assert ds.feature_names == ["x1", "x2"] and ds.n_features == 2 and ds.m == 400 and ds.n_classes == 2
    assert np.all(np.isfinite(ds.X))
    again, other = load_dataset(name), load_dataset(name, seed=1)
    assert np.array_equal(again.X, ds.X) and np.array_equal(again.y, ds.y)
    assert not np.array_equal(other.X, ds.X)
    small = load_dataset(name, n_samples=51)
    assert small.X.shape == (2, 51) and small.y.shape == (51,)


@pytest.mark.parametrize("name", ["flower", "moons", "circles"])
def test_generated_classes_are_balanced_and_shuffled(name):
    y = load_dataset(name).y
    assert np.bincount(y).tolist() == [200, 200]
    assert 0 < y[:200].mean() < 1  # not one block per class


def test_flower_is_the_course_planar_dataset():
    ds = load_dataset("flower")
    assert ds.target_names == ["red", "blue"]
    r = np.hypot(ds.X[0], ds.X[1])
    assert r.max() < 5.0  # a = 4 plus noise
    assert load_dataset("planar").X.tobytes() == ds.X.tobytes()


def test_xor_labels_follow_the_quadrants():
    ds = load_dataset("xor")
    assert np.array_equal(ds.y, ((ds.X[0] > 0) != (ds.X[1] > 0)).astype(int))
    assert np.abs(ds.X).max() <= 1.0


def test_circles_radii():
    ds = load_dataset("circles")
    r = np.hypot(ds.X[0], ds.X[1])
    assert r[ds.y == 0].mean() == pytest.approx(1.0, abs=0.05)
    assert r[ds.y == 1].mean() == pytest.approx(0.5, abs=0.05)


def test_digits():
    pytest.importorskip("sklearn")
    ds = load_dataset("digits")
    assert ds.X.shape == (64, 1797) and ds.y.shape == (1797,)
    assert ds.target_names == [str(k) for k in range(10)] and ds.n_classes == 10
    assert ds.X.min() == 0 and ds.X.max() == 16
    small = load_dataset("digits", n_samples=100, seed=3)
    assert small.X.shape == (64, 100)
    columns = {c.tobytes() for c in ds.X.T}
    assert all(c.tobytes() in columns for c in small.X.T)
    with pytest.raises(ValueError, match="n_samples=5000 but digits has only 1797 examples"):
        load_dataset("digits", n_samples=5000)


def test_mnist1d_train_and_test_and_global_rng_untouched():
    pytest.importorskip("mnist1d")
    np.random.seed(123)
    random.seed(123)
    np_before, py_before = np.random.get_state()[1].copy(), random.getstate()
    ds = load_dataset("mnist1d")
    assert np.array_equal(np.random.get_state()[1], np_before) and random.getstate() == py_before
    assert ds.X.shape == (40, 4000) and ds.y.shape == (4000,)
    assert ds.test.X.shape == (40, 1000) and ds.test.y.shape == (1000,)
    assert ds.test.test is None and ds.n_classes == 10 and ds.test.target_names == ds.target_names
    assert set(np.unique(ds.y)) == set(range(10))
    small = load_dataset("mnist1d", n_samples=500)
    assert small.X.shape == (40, 500) and small.test.X.shape == (40, 1000)
    ds.X[0, 0] = 1e9  # the caller's copy is theirs; the cache is unaffected
    assert load_dataset("mnist1d").X[0, 0] != 1e9


def test_split_partitions_the_examples():
    ds = load_dataset("moons")
    train, test = ds.split(0.25, seed=5)
    assert train.m == 300 and test.m == 100
    together = np.hstack([train.X, test.X])
    assert sorted(map(bytes, together.T)) == sorted(map(bytes, ds.X.T))
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        ds.split(1.0)


def test_dataset_refuses_inconsistent_arrays():
    with pytest.raises(ValueError, match=r"X \(2, 3\) and y \(4,\) disagree"):
        Dataset(np.zeros((2, 3)), np.zeros(4), ["a", "b"], ["y"], "regression", "bad")
    with pytest.raises(ValueError, match="task 'ranking' must be one of"):
        Dataset(np.zeros((2, 3)), np.zeros(3), ["a", "b"], ["y"], "ranking", "bad")


# --------------------------------------------------------------------------- CSV


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_string_labels(tmp_path):
    path = write(
        tmp_path,
        "iris.csv",
        "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n4.9,1.4,setosa\n",
    )
    ds = load_data_file(path)
    assert ds.X.shape == (2, 4)  # features in rows, examples in columns
    assert np.array_equal(ds.X[:, 1], [7.0, 4.7])
    assert ds.feature_names == ["sepal", "petal"]
    assert ds.target_names == ["setosa", "versicolor", "virginica"]
    assert ds.y.tolist() == [0, 1, 2, 0] and ds.y.dtype == np.int64
    assert ds.task == "classification" and ds.name == "iris"


def test_csv_target_by_name_and_index(tmp_path):
    path = write(tmp_path, "d.csv", "label,a,b\nyes,1,2\nno,3,4\n")
    by_name = load_data_file(path, target="label")
    assert (
        by_name.feature_names == ["a", "b"] and by_name.target_names == ["no", "yes"] and by_name.y.tolist() == [1, 0]
    )
    by_index = load_data_file(path, target=0)
    assert by_index.y.tolist() == [1, 0]


def test_csv_integer_target_is_classification_float_is_regression(tmp_path):
    ints = write(tmp_path, "i.csv", "a,y\n1,10\n2,9\n3,10\n")
    ds = load_data_file(ints)
    assert ds.task == "classification" and ds.target_names == ["9", "10"] and ds.y.tolist() == [1, 0, 1]
    floats = write(tmp_path, "f.csv", "a,price\n1,1.5\n2,2.25\n3,0.125\n")
    ds = load_data_file(floats)
    assert ds.task == "regression" and ds.y.dtype == np.float64 and ds.y.tolist() == [1.5, 2.25, 0.125]
    assert ds.target_names == ["price"]
    many = write(tmp_path, "m.csv", "a,y\n" + "".join(f"{k},{k}\n" for k in range(MAX_AUTO_CLASSES + 1)))
    assert load_data_file(many).task == "regression"


def test_csv_task_override(tmp_path):
    path = write(tmp_path, "i.csv", "a,y\n1,1\n2,2\n3,3\n")
    ds = load_data_file(path, task="regression")
    assert ds.task == "regression" and ds.y.tolist() == [1.0, 2.0, 3.0]
    path = write(tmp_path, "f.csv", "a,y\n1,0.5\n2,1.5\n3,0.5\n")
    ds = load_data_file(path, task="classification")
    assert ds.target_names == ["0.5", "1.5"] and ds.y.tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="task 'clustering' must be one of"):
        load_data_file(path, task="clustering")


def test_tsv_bom_and_blank_lines(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_bytes("\ufeffa\tb\tc\n1\t2\tx\n\n3\t4\ty\n".encode("utf-8"))
    ds = load_data_file(path)
    assert ds.feature_names == ["a", "b"] and ds.X.tolist() == [[1, 3], [2, 4]] and ds.target_names == ["x", "y"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"bad.csv: file is empty"),
        ("\n\n", r"bad.csv: file is empty \(no header row\)"),
        ("a,b,y\n", r"bad.csv: has a header but no data rows"),
        ("a,b,y\n1,2,0\n1,2\n", r"bad.csv:3: row has 2 fields, expected 3"),
        ("a,b,y\n1,2,0\n3,4,1,9\n", r"bad.csv:3: row has 4 fields, expected 3"),
        ("a,b,y\n1,2,0\n3,abc,1\n", r"bad.csv:3:2: non-numeric value 'abc' in feature column 'b'"),
        ("a,b,y\n1,,0\n3,4,1\n", r"bad.csv:2:2: missing value in feature column 'b'"),
        ("a,b,y\n1,NA,0\n3,4,1\n", r"bad.csv:2:2: missing value in feature column 'b'"),
        ("a,b,y\n1,2,0\n3,4,1\nnan,4,1\n", r"bad.csv:4:1: missing value in feature column 'a'"),
        ("a,b,y\n1,2,0\ninf,4,1\n", r"bad.csv:3:1: value 'inf' in feature column 'a' is not finite"),
        ("a,b,y\n1,2,0\n3,4,\n", r"bad.csv:3:3: missing target value in column 'y'"),
        ("a,b,y\n1,2,cat\n3,4,cat\n", r"bad.csv: target column 'y' has only one class \('cat'\)"),
        ("a,b,y\n1,2,1\n3,4,1\n", r"bad.csv: target column 'y' has only one class \('1'\)"),
        ("a,,y\n1,2,0\n", r"bad.csv:1:2: column 2 has an empty name"),
        ("a,a,y\n1,2,0\n", r"bad.csv:1:2: column name 'a' appears twice"),
        ("y\n1\n2\n", r"bad.csv: needs at least one feature column and a target column"),
    ],
)
def test_csv_errors(tmp_path, text, message):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataFileError, match=message):
        load_data_file(path)


def test_unknown_target_column_lists_columns(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(DataFileError, match=r"d.csv: no column named 'label'; columns are: a, b, y"):
        load_data_file(path, target="label")
    with pytest.raises(DataFileError, match=r"d.csv: target column index 5 out of range for 3 columns"):
        load_data_file(path, target=5)


def test_regression_needs_numeric_target(tmp_path):
    path = write(tmp_path, "d.csv", "a,y\n1,2.5\n3,high\n")
    with pytest.raises(
        DataFileError, match=r"d.csv:3:2: non-numeric target 'high' in column 'y'; regression needs numbers"
    ):
        load_data_file(path, task="regression")


def test_missing_file_directory_and_suffix(tmp_path):
    with pytest.raises(DataFileError, match=r"nope.csv: file does not exist"):
        load_data_file(tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match=r"is a directory"):
        load_data_file(tmp_path)
    path = write(tmp_path, "d.xlsx", "a,y\n1,0\n")
    with pytest.raises(DataFileError, match=r"d.xlsx: unsupported file type '.xlsx'; use .csv, .tsv, .npy or .npz"):
        load_data_file(path)


def test_binary_file_with_csv_suffix(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(DataFileError, match=r"d.csv: not UTF-8 text"):
        load_data_file(path)


def test_data_file_error_is_a_value_error():
    assert issubclass(DataFileError, ValueError)


# --------------------------------------------------------------------------- NumPy files


def test_npy_last_column_is_target(tmp_path):
    A = np.array([[1.0, 2.0, 0], [3.0, 4.0, 1], [5.0, 6.0, 1]])
    np.save(tmp_path / "d.npy", A)
    ds = load_data_file(tmp_path / "d.npy")
    assert ds.X.tolist() == [[1, 3, 5], [2, 4, 6]] and ds.y.tolist() == [0, 1, 1]
    assert ds.feature_names == ["x1", "x2"] and ds.task == "classification"
    ds = load_data_file(tmp_path / "d.npy", target=0, task="regression")
    assert ds.task == "regression" and ds.y.tolist() == [1, 3, 5] and ds.feature_names == ["x2", "x3"]


def test_npy_errors(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([[1, "a"], [2, None]], dtype=object), allow_pickle=True)
    with pytest.raises(DataFileError, match=r"obj.npy: contains pickled Python objects; vecprop never unpickles"):
        load_data_file(tmp_path / "obj.npy")
    np.save(tmp_path / "flat.npy", np.arange(5.0))
    with pytest.raises(DataFileError, match=r"flat.npy: array has shape \(5,\); expected 2-D"):
        load_data_file(tmp_path / "flat.npy")
    A = np.ones((4, 3))
    A[2, 1] = np.nan
    np.save(tmp_path / "nan.npy", A)
    with pytest.raises(DataFileError, match=r"nan.npy:3:2: array value nan is not finite"):
        load_data_file(tmp_path / "nan.npy")
    np.save(tmp_path / "str.npy", np.array([["1", "a"], ["2", "b"]]))
    with pytest.raises(DataFileError, match=r"str.npy: array has dtype <U1; it must be numeric"):
        load_data_file(tmp_path / "str.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(DataFileError, match=r"junk.npy: (not a valid NumPy file|contains pickled)"):
        load_data_file(tmp_path / "junk.npy")


def test_npz_with_string_labels_and_names(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    np.savez(tmp_path / "d.npz", X=X, y=np.array(["b", "a", "b", "c"]), feature_names=np.array(["p", "q", "r"]))
    ds = load_data_file(tmp_path / "d.npz")
    assert np.array_equal(ds.X, X.T) and ds.feature_names == ["p", "q", "r"]
    assert ds.target_names == ["a", "b", "c"] and ds.y.tolist() == [1, 0, 1, 2]


def test_npz_multi_output_regression(tmp_path):
    Y = np.random.default_rng(0).standard_normal((5, 2))
    np.savez(tmp_path / "d.npz", X=np.ones((5, 3)), y=Y)
    ds = load_data_file(tmp_path / "d.npz")
    assert ds.task == "regression" and ds.y.shape == (2, 5) and np.array_equal(ds.y, Y.T)
    assert ds.target_names == ["y1", "y2"]


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "keys.npz", data=np.ones((3, 2)))
    with pytest.raises(DataFileError, match=r"keys.npz: needs arrays 'X' and 'y'; found: data"):
        load_data_file(tmp_path / "keys.npz")
    np.savez(tmp_path / "obj.npz", X=np.ones((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataFileError, match=r"obj.npz: contains pickled Python objects"):
        load_data_file(tmp_path / "obj.npz")
    np.savez(tmp_path / "len.npz", X=np.ones((3, 2)), y=np.zeros(4))
    with pytest.raises(DataFileError, match=r"len.npz: y has shape \(4,\) but X has 3 rows"):
        load_data_file(tmp_path / "len.npz")
    X = np.ones((3, 2))
    X[1, 0] = np.inf
    np.savez(tmp_path / "inf.npz", X=X, y=np.array([0, 1, 0]))
    with pytest.raises(DataFileError, match=r"inf.npz:2:1: X value inf is not finite"):
        load_data_file(tmp_path / "inf.npz")
    np.savez(tmp_path / "one.npz", X=np.ones((3, 2)), y=np.array([1, 1, 1]))
    with pytest.raises(DataFileError, match=r"one.npz: target column 'y' has only one class"):
        load_data_file(tmp_path / "one.npz")


def test_hostile_npy_pickle_is_not_executed(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Hostile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with open(tmp_path / "evil.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        f.write(pickle.dumps([Hostile()]))
    with pytest.raises(DataFileError, match="pickled Python objects"):
        load_data_file(tmp_path / "evil.npy")
    assert not marker.exists()


# --------------------------------------------------------------------------- Standardizer


def test_standardizer_fit_transform():
    rng = np.random.default_rng(0)
    X = rng.normal([[3.0], [-2.0], [7.0]], [[2.0], [0.5], [0.0]], size=(3, 200))  # third feature constant
    s = Standardizer.fit(X)
    assert s.mean.shape == (3, 1) and s.scale.shape == (3, 1)
    Z = s.transform(X)
    assert np.allclose(Z.mean(axis=1), 0) and np.allclose(Z.std(axis=1), [1, 1, 0])
    assert s.scale[2, 0] == 1.0 and np.all(Z[2] == 0)
    assert np.allclose(s.inverse_transform(Z), X)
    assert Z.flags.f_contiguous  # each example's column contiguous: fit shuffles it without a copy


def test_constant_feature_with_rounding_noise_gets_scale_one():
    X = np.full((1, 10), 0.1) * 3  # 0.30000000000000004 everywhere; std may be ~1e-17
    assert Standardizer.fit(X).scale[0, 0] == 1.0


def test_standardizer_dict_round_trip_is_exact():
    X = np.random.default_rng(1).standard_normal((4, 9)) * 1e-3 + np.pi
    s = Standardizer.fit(X)
    d = json.loads(json.dumps(s.to_dict()))
    t = Standardizer.from_dict(d)
    assert t.mean.tobytes() == s.mean.tobytes() and t.scale.tobytes() == s.scale.tobytes()
    assert np.array_equal(t.transform(X), s.transform(X))


def test_standardizer_errors():
    s = Standardizer.fit(np.ones((3, 5)))
    with pytest.raises(
        ValueError, match=r"X has shape \(5, 3\) but the Standardizer was fitted on 3 features .*did you mean X.T\?"
    ):
        s.transform(np.ones((5, 3)))
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        Standardizer.fit(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="not a Standardizer dict"):
        Standardizer.from_dict({"mean": [0.0]})
    with pytest.raises(ValueError, match="scale > 0"):
        Standardizer.from_dict({"mean": [0.0], "scale": [0.0]})


def test_load_features_with_or_without_the_target(tmp_path):
    from vecprop.datasets import DataFileError, load_features

    A = np.arange(12, dtype=float).reshape(4, 3)  # 4 examples, 3 features
    np.save(tmp_path / "f.npy", A)
    np.save(tmp_path / "ft.npy", np.hstack([A, np.ones((4, 1))]))  # target last
    np.savez(tmp_path / "f.npz", X=A)
    for name in ("f.npy", "ft.npy", "f.npz"):
        X = load_features(tmp_path / name, ["x1", "x2", "x3"])
        assert X.shape == (3, 4) and np.array_equal(X, A.T)
    (tmp_path / "f.csv").write_text("b,label,a\n2,x,1\n4,y,3\n")
    assert np.array_equal(load_features(tmp_path / "f.csv", ["a", "b"]), [[1, 3], [2, 4]])
    with pytest.raises(DataFileError, match=r"f\.csv: missing feature column\(s\) c"):
        load_features(tmp_path / "f.csv", ["a", "c"])
    with pytest.raises(DataFileError, match=r"f\.npy: array has shape \(4, 3\); expected \(m, 5\)"):
        load_features(tmp_path / "f.npy", ["p", "q", "r", "s", "t"])
